// Command status is the status Lambda. It only wires configuration and adapters; the
// behaviour lives in the packages it starts.
package main

func main() {}
