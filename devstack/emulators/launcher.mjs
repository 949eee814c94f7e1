// launcher.mjs starts one npm emulator bound to 127.0.0.1 and reports its port.
// The Go package embeds this file and runs it with `node --input-type=module -e`,
// so it works from any working directory; the emulators' packages are loaded
// from the pinned _tools/node_modules given on the command line.
//
//   node launcher.mjs <dynamodb|sqs|ses> <port, 0 = any free port> <_tools dir> [dynalite data dir]
//
// It prints one line `EMULATOR_READY <port>` once the server accepts
// connections, and exits when its stdin closes, so that a parent that dies
// without cleaning up never leaves an emulator running.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [kind, portArg, toolsDir, dataDir] = process.argv.slice(1);
const port = Number.parseInt(portArg ?? "0", 10);
const host = "127.0.0.1";
const requireTool = createRequire(path.join(toolsDir, "package.json"));

function ready(actualPort) {
  process.stdout.write(`EMULATOR_READY ${actualPort}\n`);
}

async function startDynamoDB() {
  const dynalite = requireTool("dynalite");
  // Tables become ACTIVE at once: provisioning does not wait out dynalite's
  // default 500 ms CREATING state for each table.
  const server = dynalite({ path: dataDir || undefined, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { port: server.address().port, close: () => server.close() };
}

async function startSQS() {
  // fauxqs's own startFauxqs always listens on 0.0.0.0; buildApp lets us pick
  // the address. Queue URLs are built from the request's Host header.
  // fauxqs is ESM-only with an "import" export, so it is imported by file URL.
  const entry = path.join(toolsDir, "node_modules", "fauxqs", "dist", "app.js");
  const { buildApp } = await import(pathToFileURL(entry).href);
  const app = buildApp({ logger: false });
  const address = await app.listen({ port, host });
  return { port: Number.parseInt(new URL(address).port, 10), close: () => app.close() };
}

async function startSES() {
  const sesLocal = requireTool("aws-ses-v2-local").default;
  const server = await sesLocal({ host, port });
  return { port: server.address().port, close: () => server.close() };
}

const starters = { dynamodb: startDynamoDB, sqs: startSQS, ses: startSES };

async function main() {
  const start = starters[kind];
  if (!start) {
    throw new Error(`unknown emulator ${JSON.stringify(kind)}; want one of ${Object.keys(starters).join(", ")}`);
  }
  const server = await start();
  const stop = () => {
    Promise.resolve(server.close()).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  ready(server.port);
}

main().catch((err) => {
  process.stderr.write(`emulator ${kind} failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
