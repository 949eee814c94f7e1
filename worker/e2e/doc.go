// Package e2e holds the worker's tests and benchmarks against the local AWS
// emulators (devstack/emulators): reports produced through the real queue,
// tables, bucket and mail emulator, the failure drills of spec 4, a browser
// test of the emailed link, and the dynalite figures of `make bench`.
//
// It is a separate package so that the worker's unit tests stay fast and free
// of emulators; every test here starts the emulators itself and fails, never
// skips, when they cannot start.
package e2e
