// Package s3files stores report CSVs in Amazon S3 and signs download links to them.
// Files implements billing.ReportFiles.
//
// A report is streamed while it is generated: PutReport takes an io.Reader of
// unknown length and uploads it with the SDK's transfer manager as a multipart
// upload, holding at most (Concurrency+1) parts in memory, so the worker's
// memory does not grow with the report. Objects are written with
// Content-Type text/csv; charset=utf-8 and a Content-Disposition naming the
// download file; presigned GETs repeat the file name as
// response-content-disposition so a browser saves the file under that name
// whatever serves it.
//
// This package is the only one that knows S3's error types: failures become
// billing.Error codes (EUNAVAILABLE when S3 is down, throttling or the bucket
// is missing), while an error from the report body itself is returned as is.
package s3files
