// Package local runs the whole service on one machine (`reportctl dev`, `make
// run`): it installs the pinned npm emulators if they are missing, starts them
// on 127.0.0.1 with DynamoDB data kept in the repository's .local folder, loads
// the demo data once, and runs the functions in-process behind the local API
// gateway, the local SQS event source and a sweep timer, exactly as they are
// wired on Lambda. Ctrl-C stops everything it started.
package local
