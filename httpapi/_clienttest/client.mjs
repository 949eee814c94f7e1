// Drives the API with ServiceStack's own JsonServiceClient, unchanged, the way
// upstream clients call it: the predefined /api route (v2 default) and the
// older /json/reply route, plus a validation error read from ResponseStatus.
// Prints one JSON line of what it saw; exits non-zero if anything differs.
import { JsonServiceClient } from "@servicestack/client";

class ReportInfo {}
class BillingReport {
  constructor(init) { Object.assign(this, init); }
  getTypeName() { return "BillingReport"; }
  getMethod() { return "POST"; }
  createResponse() { return new ReportInfo(); }
}

const { BASE_URL, TOKEN, ACCOUNT_ID } = process.env;
const out = {};
const fail = (msg) => { console.log(JSON.stringify({ ...out, failure: msg })); process.exit(1); };

const client = new JsonServiceClient(BASE_URL);
client.bearerToken = TOKEN;
const req = { accountId: ACCOUNT_ID, startDate: "2026-10-01", endDate: "2026-10-31" };

const viaApi = await client.post(new BillingReport(req));
out.api = viaApi;
if (viaApi.status !== "Queued" || !viaApi.id) fail("the /api route did not queue a report");

const legacy = new JsonServiceClient(BASE_URL);
legacy.bearerToken = TOKEN;
legacy.useBasePath(null); // older clients: /json/reply/BillingReport
out.replyUrl = legacy.replyBaseUrl;
const viaReply = await legacy.post(new BillingReport({ ...req, includeCustomerIds: true }));
out.reply = viaReply;
if (viaReply.status !== "Queued" || !viaReply.id) fail("the /json/reply route did not queue a report");

try {
  await client.post(new BillingReport({ accountId: ACCOUNT_ID }));
  fail("an empty request was accepted");
} catch (e) {
  out.error = e.responseStatus;
  if (e.responseStatus?.errorCode !== "NotEmpty" || e.responseStatus?.errors?.[0]?.fieldName !== "StartDate") {
    fail("the validation error's ResponseStatus was not read");
  }
}
console.log(JSON.stringify(out));
