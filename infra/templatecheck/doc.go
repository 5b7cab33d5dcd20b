// Package templatecheck checks, offline, what a deployment of Authbridge's templates
// (template.yaml and infra/monitoring.yaml) would contain: functions, routes, policies,
// the table, the keys, alarms and the dashboard. The checks are its tests; they load the
// templates with infra/samtemplate for each parameter set (the scenarios and
// samconfig.toml's environments, read by ReadSAMConfig).
package templatecheck
