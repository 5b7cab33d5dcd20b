package authserver

// OpenUpstream lets the external tests open the WorkOS refresh token sealed on a refresh
// token, as the token endpoint does, to check it against the WorkOS emulator.
var OpenUpstream = openUpstream
