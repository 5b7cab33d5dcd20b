package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

type report struct {
	imgDir, imgRel string
	outs           map[string]*stepOutput
	command        string
	machine        machineInfo
	now            time.Time
	plots          []string
	b              strings.Builder
}

// plotFiles are every plot the report may draw; those not drawn in this run are removed, so
// that docs/performance/ holds exactly the figures of the report.
var plotFiles = []string{"authorizer.png", "sizes.png", "init.png", "calls.png", "flow.png"}

func (r *report) p(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *report) render() (string, error) {
	r.header()
	for _, section := range []func() error{r.authorizer, r.sizes, r.calls, r.flow} {
		if err := section(); err != nil {
			return "", err
		}
	}
	r.scaling()
	for _, f := range plotFiles {
		if !slices.Contains(r.plots, f) {
			if err := os.Remove(filepath.Join(r.imgDir, f)); err != nil && !os.IsNotExist(err) {
				return "", err
			}
		}
	}
	return r.b.String(), nil
}

func (r *report) image(file, alt string) {
	r.p("![%s](%s/%s)\n\n", alt, r.imgRel, file)
}

func (r *report) plot(file, title, xLabel string, cats []string, ss []series, format func(float64) string) error {
	if err := hbarChart(filepath.Join(r.imgDir, file), title, xLabel, cats, ss, format); err != nil {
		return err
	}
	r.plots = append(r.plots, file)
	r.image(file, title)
	return nil
}

// status says, under a section's heading, when its step failed or printed nothing.
func (r *report) status(name string) {
	o := r.outs[name]
	switch {
	case o.ExitCode > 0:
		r.p("> **This step failed in this run** (exit status %d); what it printed before failing is used below. Output: `%s`.\n\n", o.ExitCode, o.Path)
	case o.Missing:
		r.p("> **Not measured in this run**: no output in `%s`.\n\n", o.Path)
	}
}

func (r *report) header() {
	m := r.machine
	r.p("# Performance\n\n")
	r.p("Figures of **one run** of `%s` on %s, written by `infra/cmd/bench-report` (plots: gonum.org/v1/plot). ", r.command, r.now.Format("2006-01-02 15:04 MST"))
	r.p("They come from a shared machine with other work running beside the benchmarks: compare figures within this report (they share the machine and the moment), not with another machine's.\n\n")
	r.p("| machine | |\n|---|---|\n")
	r.p("| CPU | %s |\n", orUnknown(m.CPU))
	r.p("| cores (logical) | %d |\n", m.Cores)
	if m.MemBytes > 0 {
		r.p("| memory | %.1f GiB |\n", float64(m.MemBytes)/(1<<30))
	}
	r.p("| Go | %s |\n| Node | %s |\n", m.GoVersion, m.NodeVersion)
	if m.Commit != "" {
		r.p("| commit | `%s` |\n", m.Commit)
	}
	r.p("\nThe steps, in the order they ran, one at a time. The Go tests run against DynamoDB Local and local-kms started for the run (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_KMS`, `AWS_REGION=us-east-1`, local credentials); the flow runs on a local stack of its own:\n\n")
	r.p("| step | command | exit |\n|---|---|---|\n")
	for _, s := range steps {
		o := r.outs[s.Name]
		cmd := "(read from `" + o.Path + "`)"
		if o.Command != "" {
			cmd = "`" + strings.ReplaceAll(o.Command, "|", `\|`) + "`"
		}
		exit := "–"
		if o.ExitCode >= 0 {
			exit = fmt.Sprint(o.ExitCode)
		}
		r.p("| %s | %s | %s |\n", s.What, cmd, exit)
	}
	r.p("\n")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (r *report) authorizer() error {
	r.p("## 1. Authorizer latency\n\n")
	r.status("guard")
	r.status("jose")
	stats := ParseBenchmarks(r.outs["guard"].Text + "\n" + r.outs["jose"].Text)
	byName := map[string]BenchStat{}
	for _, s := range stats {
		byName[s.Name] = s
	}
	r.p("Time per request of the Lambda authorizer (`shared/guard`, `go test -bench`: events built as API Gateway sends them, tokens minted by the token function's signer against local-kms) ")
	r.p("for a token it has not seen (full ES256 verification and claim checks, policy built, cache insert) and for a repeated token (hash and cache hit), ")
	r.p("beside the cryptography alone (SHA-256 and `ecdsa.Verify` on one of the same tokens) and beside Node's `jose` `jwtVerify` on tokens of the same shape (`infra/e2e/bench/jose.mjs`: ES256, local JWKS with kid lookup, issuer, audience, `typ`, time and required-claim checks; 128 distinct tokens cycled). ")
	r.p("Each figure is the median over the runs of its benchmark (go test `-count`, or the script's runs of several thousand verifications after a warm-up); each benchmark runs its operations one after another, not in parallel.\n\n")

	var cats, missing []string
	var vals []float64
	role := map[string]float64{}
	for _, b := range authorizerBars {
		s, ok := byName[b.Bench]
		if !ok {
			missing = append(missing, "`Benchmark"+b.Bench+"`")
			continue
		}
		cats = append(cats, b.Label)
		vals = append(vals, s.NsPerOp()/1e3)
		if b.Role != "" {
			role[b.Role] = s.NsPerOp()
		}
	}
	if len(cats) > 0 {
		if err := r.plot("authorizer.png", "Authorizer latency per request", "µs per request (median)", cats, []series{{Name: "µs", Values: vals}}, func(v float64) string { return fmtNs(v * 1e3) }); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		r.p("Not in this run (left out of the plot): %s. The bars are mapped from benchmark names by `authorizerBars` in `infra/cmd/bench-report/main.go`.\n\n", strings.Join(missing, ", "))
	}
	var notes []string
	// BenchmarkAuthorizerFreshVsRaw interleaves one fresh request and one raw verification
	// per iteration and reports their ratio itself: the figure the target is judged by.
	if pair, ok := byName["AuthorizerFreshVsRaw"]; ok && pair.value("fresh/raw") > 0 {
		notes = append(notes, fmt.Sprintf("fresh token / raw ES256, interleaved in one benchmark (`BenchmarkAuthorizerFreshVsRaw`, median of its runs): **%.3f×** (target ≤ 1.1×)", pair.value("fresh/raw")))
	}
	if f, raw := role["fresh"], role["raw"]; f > 0 && raw > 0 {
		notes = append(notes, fmt.Sprintf("fresh token / raw ES256 verification, separate benchmarks: %.2f×", f/raw))
	}
	if j, f := role["jose"], role["fresh"]; j > 0 && f > 0 {
		notes = append(notes, fmt.Sprintf("jose `jwtVerify` / authorizer with a fresh token: **%.2f×**", j/f))
	}
	if rep, f := role["repeated"], role["fresh"]; rep > 0 && f > 0 {
		notes = append(notes, fmt.Sprintf("repeated / fresh token: **%.3f×**", rep/f))
	}
	if len(notes) > 0 {
		r.p("%s.\n\n", strings.Join(notes, "; "))
	}
	if len(stats) > 0 {
		label := map[string]string{}
		for _, b := range authorizerBars {
			label[b.Bench] = b.Label
		}
		r.p("| benchmark | bar | runs | median time/op | ns/op | B/op | allocs/op |\n|---|---|---:|---:|---:|---:|---:|\n")
		for _, s := range stats {
			r.p("| `Benchmark%s` | %s | %d | %s | %s | %s | %s |\n", s.Name, orDash(label[s.Name]), s.Runs, fmtNs(s.NsPerOp()), fmtNum(math.Round(s.NsPerOp())), fmtNum(s.value("B/op")), fmtNum(s.value("allocs/op")))
		}
		r.p("\n")
	}
	return nil
}

// mdCell makes text safe in a Markdown table cell.
func mdCell(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func (r *report) sizes() error {
	r.p("## 2. Binary size and init time per function\n\n")
	r.status("sizes")
	sizes, inits := ParseSizes(r.outs["sizes"].Text)
	r.p("Each function built as deployed (`GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags=\"-s -w\"`): the size of its `bootstrap`, the binary Lambda unpacks and starts on a cold start. ")
	r.p("Read from the `SIZE <function> <bytes> [<budget-bytes>]` and `INIT <function> <milliseconds>` lines of the sizes command (`SIZES_CMD`).\n\n")
	if len(sizes) > 0 {
		cats := make([]string, len(sizes))
		vals := make([]float64, len(sizes))
		for i, s := range sizes {
			cats[i], vals[i] = s.Function, mib(s.Bytes)
		}
		if err := r.plot("sizes.png", "Binary size per function (linux/arm64, stripped)", "MiB", cats, []series{{Name: "MiB", Values: vals}}, func(v float64) string { return fmt.Sprintf("%.1f MiB", v) }); err != nil {
			return err
		}
	}
	if len(inits) > 0 {
		cats := make([]string, len(inits))
		vals := make([]float64, len(inits))
		for i, s := range inits {
			cats[i], vals[i] = s.Function, s.Millis
		}
		if err := r.plot("init.png", "Init time per function (cold start)", "ms (median)", cats, []series{{Name: "ms", Values: vals}}, fmtMs); err != nil {
			return err
		}
	} else {
		r.p("Init time: **not measured in this run** — the sizes command printed no `INIT` lines.\n\n")
	}
	if len(sizes) == 0 && len(inits) == 0 {
		r.p("No `SIZE` or `INIT` lines in this run.\n\n")
		return nil
	}
	initOf := map[string]FunctionInit{}
	for _, in := range inits {
		initOf[in.Function] = in
	}
	var names []string
	sizeOf := map[string]FunctionSize{}
	for _, s := range sizes {
		names = append(names, s.Function)
		sizeOf[s.Function] = s
	}
	for _, in := range inits {
		if _, ok := sizeOf[in.Function]; !ok {
			names = append(names, in.Function)
		}
	}
	r.p("| function | binary | bytes | budget | init |\n|---|---:|---:|---:|---:|\n")
	var total int64
	for _, n := range names {
		s, hasSize := sizeOf[n]
		size, bytes, budget, init := "–", "–", "–", "–"
		if hasSize {
			total += s.Bytes
			size, bytes = fmt.Sprintf("%.1f MiB", mib(s.Bytes)), fmt.Sprint(s.Bytes)
			if s.Budget > 0 {
				budget = fmt.Sprintf("%.1f MiB (%.0f%% used)", mib(s.Budget), 100*float64(s.Bytes)/float64(s.Budget))
			}
		}
		if in, ok := initOf[n]; ok {
			init = fmtMs(in.Millis)
			if in.Samples > 1 {
				init += fmt.Sprintf(" (median of %d lines)", in.Samples)
			}
		}
		r.p("| %s | %s | %s | %s | %s |\n", n, size, bytes, budget, init)
	}
	if len(sizes) > 0 {
		r.p("| **all %d** | %.1f MiB | %d | | |\n", len(sizes), mib(total), total)
	}
	r.p("\n")
	return nil
}

func (r *report) calls() error {
	r.p("## 3. DynamoDB and KMS calls per endpoint\n\n")
	r.status("calls")
	calls := ParseCalls(r.outs["calls"].Text)
	r.p("The requests each endpoint sends to its dependencies for one successful request, counted by `TestRoundTripsPerEndpoint` (`shared/authserver`, against DynamoDB Local and local-kms) and read from its `CALLS <endpoint> dynamodb=<n> kms=<n> workos=<n>` lines.\n\n")
	if len(calls) == 0 {
		r.p("**Not measured in this run**: the test printed no `CALLS` lines (is `TestRoundTripsPerEndpoint` in this tree?).\n\n")
		return nil
	}
	var services []string
	for _, c := range calls {
		for _, s := range c.Services {
			if !slices.Contains(services, s) {
				services = append(services, s)
			}
		}
	}
	cats := make([]string, len(calls))
	for i, c := range calls {
		cats[i] = c.Endpoint
	}
	ss := make([]series, len(services))
	for si, s := range services {
		ss[si] = series{Name: s, Values: make([]float64, len(calls))}
		for i, c := range calls {
			if n, ok := c.Counts[s]; ok {
				ss[si].Values[i] = float64(n)
			} else {
				ss[si].Values[i] = math.NaN()
			}
		}
	}
	if err := r.plot("calls.png", "Calls to dependencies per request", "calls per request", cats, ss, func(v float64) string { return fmt.Sprintf("%.0f", v) }); err != nil {
		return err
	}
	hasDetail := slices.ContainsFunc(calls, func(c EndpointCalls) bool { return c.Detail != "" })
	r.p("| endpoint |")
	for _, s := range services {
		r.p(" %s |", s)
	}
	if hasDetail {
		r.p(" operations |")
	}
	r.p("\n|---|%s", strings.Repeat("---:|", len(services)))
	if hasDetail {
		r.p("---|")
	}
	r.p("\n")
	for _, c := range calls {
		r.p("| `%s` |", c.Endpoint)
		for _, s := range services {
			if n, ok := c.Counts[s]; ok {
				r.p(" %d |", n)
			} else {
				r.p(" – |")
			}
		}
		if hasDetail {
			r.p(" %s |", mdCell(c.Detail))
		}
		r.p("\n")
	}
	r.p("\n")
	return nil
}

func (r *report) flow() error {
	r.p("## 4. Sign-in flow and tool call\n\n")
	r.status("flow")
	ms := ParseMetrics(r.outs["flow"].Text)
	r.p("`make bench-e2e` (`infra/e2e/bench/bench.mjs`) on a local stack of its own, started just before (functions under the Lambda Runtime Interface Emulator, DynamoDB Local, local-kms, the WorkOS emulator): ")
	r.p("a new MCP client (the TypeScript SDK) from its first request to the first tool result — 401, discovery, registration, consent and sign-in in a form browser, callback, code exchange, initialize, `tools/call whoami`. ")
	r.p("**Cold** is the first flow after the stack started (every function's first invocation); **warm** is the median of the following runs, each with a new client and browser. ")
	r.p("The warm tool call is the median of `tools/call whoami` calls on a connected client, through the gateway emulator, the authorizer and the MCP function. ")
	r.p("Everything runs on this one machine: the figures hold no network latency, and local-kms and DynamoDB Local stand in for the AWS services.\n\n")
	if len(ms) == 0 {
		r.p("**Not measured in this run**: no `BENCH` lines.\n\n")
		return nil
	}
	var cats []string
	var vals []float64
	for _, b := range flowBars {
		if v, ok := Lookup(ms, b.Metric); ok {
			cats = append(cats, b.Label)
			vals = append(vals, v)
		}
	}
	if len(cats) > 0 {
		if err := r.plot("flow.png", "Sign-in flow and tool call (local stack)", "ms", cats, []series{{Name: "ms", Values: vals}}, fmtMs); err != nil {
			return err
		}
	}
	r.p("| measure | value |\n|---|---:|\n")
	for _, m := range ms {
		v := fmtNum(m.Value)
		if strings.HasSuffix(m.Name, "_ms") {
			v = fmtMs(m.Value)
		}
		r.p("| `%s` | %s |\n", m.Name, v)
	}
	r.p("\n")
	return nil
}

// Sources of the scaling section (AWS documentation), cited by number.
var sources = []struct{ URL, Title string }{
	{"https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html", "AWS KMS Developer Guide: Request quotas"},
	{"https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html", "Amazon DynamoDB Developer Guide: DynamoDB on-demand capacity mode"},
	{"https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html", "Amazon DynamoDB Developer Guide: Understanding DynamoDB warm throughput in different scenarios"},
	{"https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb", "AWS re:Post Knowledge Center: on-demand DynamoDB table throttling"},
	{"https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html", "AWS Lambda Developer Guide: Lambda quotas"},
	{"https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html", "AWS Lambda Developer Guide: Lambda scaling behavior"},
}

func (r *report) scaling() {
	calls := ParseCalls(r.outs["calls"].Text)
	tmpl, _ := os.ReadFile("template.yaml")
	def := func(name string) string { return cmpOr(TemplateDefault(string(tmpl), name), "?") }

	r.p("## How token issuance scales on AWS\n\n")
	r.p("The figures above are per request on one machine. In AWS, how many tokens Authbridge can issue per second is set by service quotas and scaling rules, not by its CPU time. ")
	r.p("Numbers below are defaults as the cited AWS pages give them when this report was written; quotas differ by account and Region, several can be raised, and the Service Quotas console shows the values that apply to an account.\n\n")

	r.p("**KMS signing is the first ceiling.** Every access token is an ES256 JWT signed by `kms:Sign` with an asymmetric ECC_NIST_P256 key: one Sign per token, at the authorization-code exchange and at every refresh alike (two right after a cold start or a key rotation when the key is named by an alias, see `shared/tokens`). ")
	var kmsRows []string
	for _, c := range calls {
		if n := c.Counts["kms"]; n > 0 {
			kmsRows = append(kmsRows, fmt.Sprintf("%s: %d", c.Endpoint, n))
		}
	}
	if len(kmsRows) > 0 {
		r.p("In this run's call counts (section 3) the endpoints that call KMS are — %s. ", strings.Join(kmsRows, ", "))
	}
	r.p("AWS KMS counts Sign and Verify requests on all elliptic-curve keys of an account in a Region against one shared quota, \"Cryptographic operations (ECC) request rate\"; the request-quotas page lists its default as 1,000 requests per second (shared) in its quota table, while an example further down the same page still speaks of 300 ECC requests per second — check the value applied to your account in Service Quotas [1]. ")
	r.p("Requests beyond the quota are throttled, the quota is adjustable, and it is shared with every other use of ECC keys in the account and Region, including requests AWS services make on your behalf [1]. ")
	r.p("With one Sign per token, the account's ECC quota is an upper bound on access tokens (new and refreshed) per second across every Authbridge deployment and every other ECC signer in that account and Region. ")
	r.p("Authbridge stays below it on purpose: `template.yaml` throttles `POST /api/ext/auth/token` to `TokenThrottleRate` = %s requests per second (burst `TokenThrottleBurst` = %s) and reserves `TokenReservedConcurrency` = %s concurrent executions for the token function by default.\n\n", def("TokenThrottleRate"), def("TokenThrottleBurst"), def("TokenReservedConcurrency"))

	r.p("**DynamoDB on demand follows the previous peak.** The table is on-demand (`BillingMode: PAY_PER_REQUEST`). ")
	r.p("AWS documents that an on-demand table serves at once any traffic level it has reached before, and scales further when traffic sets a new peak [2]; a new on-demand table starts able to sustain 4,000 writes and 12,000 reads per second [2][3]. ")
	r.p("Up to twice the previous peak is accommodated at once, but throttling can occur when traffic goes beyond double the previous peak within 30 minutes; AWS advises spreading such growth over at least 30 minutes [2][4]. ")
	r.p("Independently of the table, each partition serves at most 1,000 write units and 3,000 read units per second, so traffic concentrated on a few keys can be throttled before the table's limits are reached [3][4]. ")
	r.p("On-demand tables are also held to a default table-level throughput quota of 40,000 (read and write request units per second), which can be raised on request [2]. ")
	r.p("Authbridge's keys are per client, code, grant and refresh token (random identifiers), which spreads the load over partitions; the writes per issued token are those counted in section 3.\n\n")

	r.p("**Lambda concurrency.** Concurrent executions default to 1,000 per Region for an account — the total available to all of its functions — and new accounts start with lower quotas that AWS raises with usage [5][6]. ")
	r.p("Each function can add at most 1,000 execution environments every 10 seconds (equivalently, 10,000 more requests per second every 10 seconds), in each Region, independently of the other functions; requests beyond what a function can scale to fail with a throttling error (429) [6]. ")
	r.p("Every new environment pays the init time of section 2 once; the token function's reserved concurrency keeps its share of the account's concurrency when other functions are busy.\n\n")

	r.p("### Sources\n\n")
	for i, s := range sources {
		r.p("%d. %s — <%s>\n", i+1, s.Title, s.URL)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TemplateDefault returns the Default of a parameter of a CloudFormation template in YAML
// (two-space indentation, as template.yaml is written), or "" if not found.
func TemplateDefault(tmpl, param string) string {
	re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(param) + `:\s*\n((?:    .*\n)+)`)
	m := re.FindStringSubmatch(tmpl)
	if m == nil {
		return ""
	}
	d := regexp.MustCompile(`(?m)^    Default:\s*"?([^"\n]*?)"?\s*$`).FindStringSubmatch(m[1])
	if d == nil {
		return ""
	}
	return d[1]
}
