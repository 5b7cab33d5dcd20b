//go:build !authbridge_localstack

package clientid

// localStackOptions is empty in every build but the local stack's (localstack.go): a
// deployed function has no way to reach a non-public address, whatever its environment.
func localStackOptions() []Option { return nil }
