// Package redact decides which task-definition values are secrets and what
// pier prints in their place. A value is sensitive when its name looks like a
// secret's (DB_PASSWORD, apiKey, GITHUB_TOKEN) or when the value itself is
// shaped like a credential (an AWS access key id, a GitHub token, a JWT, a
// URL with a password). pier never prints a sensitive value: the plan shows
// Stand-in(value) instead, and the GitHub action masks the value itself.
//
// The one rule set lives here so that the plan's diff, lint's warning and the
// action's masks agree on what is a secret.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// HashChars is how many hex characters of a value's SHA-256 the stand-in
// shows. 16 bits tell an old value from a new one (two different values look
// alike once in 65,536) and let a user check a value with
// `printf %s "$VALUE" | sha256sum | cut -c1-4`, while a plan read by anyone
// (a pull-request comment) does not single out a guess: every prefix matches
// one in 65,536 of all candidates, so a list of ten million common passwords
// still leaves about 150 that fit.
const HashChars = 4

// MinLength is the shortest value pier masks in the action's log and scrubs
// from error messages. A shorter value would blank out ordinary words and
// digits of every later line; it is still redacted in the plan.
const MinLength = 4

// StandIn is what pier prints instead of a sensitive value:
// "(sensitive, sha256:1a2b…)". An empty value stays empty (absent).
func StandIn(value string) string {
	if value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(value))
	return "(sensitive, sha256:" + hex.EncodeToString(sum[:])[:HashChars] + "…)"
}

// IsStandIn reports whether s is a stand-in StandIn made.
func IsStandIn(s string) bool { return standInRE.MatchString(s) }

var standInRE = regexp.MustCompile(`^\(sensitive, sha256:[0-9a-f]{4}…\)$`)

// strong are markers that make a name secret wherever they appear in it, in
// any case and with the separators removed: DB_PASSWORD, dbPassword,
// MYSQLPASSWORD, CLIENT_SECRET, apiKey.
var strong = []string{"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "PRIVATEKEY", "ACCESSKEY", "AUTHTOKEN"}

// words are markers that make a name secret only as a whole word, so that
// KEYCLOAK_URL, MONKEY_COUNT and TOKENIZER_MODEL are not: KEY, TOKEN, AUTH
// and the rest are too short to be searched for inside other words. PWD alone
// is the shell's working directory, not a password (see Name).
var words = map[string]bool{
	"KEY": true, "KEYS": true, "TOKEN": true, "TOKENS": true, "AUTH": true, "PWD": true, "PASS": true,
	"PRIVATE": true, "CREDS": true, "COOKIE": true, "SALT": true,
}

// describing are last words that make a name describe a secret rather than
// hold it: DB_PASSWORD_FILE is a path, SECRET_ARN an ARN, TOKEN_URL a URL.
// HEADER is not among them: AUTH_HEADER usually holds "Bearer …". A value
// shaped like a credential is sensitive whatever its name (see Field).
var describing = map[string]bool{
	"URL": true, "URLS": true, "URI": true, "HOST": true, "HOSTNAME": true, "PORT": true, "ENDPOINT": true,
	"PATH": true, "FILE": true, "DIR": true, "ARN": true, "NAME": true, "REGION": true,
	"ENABLED": true, "ENABLE": true, "DISABLED": true, "REQUIRED": true,
	"TTL": true, "TIMEOUT": true, "EXPIRY": true, "EXPIRES": true, "EXPIRATION": true, "LIFETIME": true,
	"LENGTH": true, "SIZE": true, "TYPE": true, "MODE": true, "ALGORITHM": true, "ALG": true,
	"ISSUER": true, "AUDIENCE": true, "PROVIDER": true, "FORMAT": true, "VERSION": true,
}

// Name reports whether an environment variable, docker label or log option
// name looks like it holds a secret. Case does not matter; words are split at
// '_', '-', '.', and camelCase boundaries.
func Name(name string) bool {
	ws := splitWords(name)
	if len(ws) == 0 {
		return false
	}
	if describing[ws[len(ws)-1]] {
		return false
	}
	joined := strings.Join(ws, "")
	for _, m := range strong {
		if strings.Contains(joined, m) {
			return true
		}
	}
	if len(ws) == 1 && ws[0] == "PWD" {
		return false
	}
	for _, w := range ws {
		if words[w] {
			return true
		}
	}
	return false
}

// splitWords splits a name into upper-case words: "dbPassword" → DB PASSWORD,
// "APIKey" → API KEY, "aws.secret-key_ID" → AWS SECRET KEY ID.
func splitWords(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToUpper(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// shapes are credentials recognisable by their form alone.
var shapes = []*regexp.Regexp{
	// AWS access key ids: long-term (AKIA), temporary (ASIA), and the two
	// other kinds that sign requests (ABIA, ACCA). AIDA/AROA are user and
	// role ids, not credentials.
	regexp.MustCompile(`\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`),
	// AWS session tokens begin with these base64 prefixes.
	regexp.MustCompile(`(IQoJb3JpZ2lu|FwoGZXIvYXdz)[A-Za-z0-9/+=]{20,}`),
	// GitHub: personal, OAuth, user-to-server, server-to-server, refresh; fine-grained PATs.
	regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,}`),
	regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}`),
	regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,}`),                     // GitLab
	regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`),                // Slack
	regexp.MustCompile(`\b[sr]k_(live|test)_[A-Za-z0-9]{16,}`),           // Stripe
	regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}`),                        // Google API keys
	regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}`),                          // npm
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`), // JWT: {"…}.{"…}.signature
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
	// A URL with a password: postgres://app:hunter2@db:5432/app.
	regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@`),
	// An Authorization header's credentials.
	regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`),
}

// base64Run finds the runs an AWS secret access key (40 characters) or a long
// token could be.
var base64Run = regexp.MustCompile(`[A-Za-z0-9/+]{40,}={0,2}`)

// Value reports whether v contains something shaped like a credential,
// whatever the name it is stored under.
func Value(v string) bool {
	for _, re := range shapes {
		if re.MatchString(v) {
			return true
		}
	}
	for _, run := range base64Run.FindAllString(v, -1) {
		if mixed(run) && (len(strings.TrimRight(run, "=")) == 40 || len(run) >= 100) {
			return true
		}
	}
	return false
}

// mixed reports whether s has upper- and lower-case letters and a digit, as
// random keys do and hex digests, words and paths do not.
func mixed(s string) bool {
	var up, low, dig bool
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			up = true
		case r >= 'a' && r <= 'z':
			low = true
		case r >= '0' && r <= '9':
			dig = true
		}
	}
	return up && low && dig
}

var (
	// containerDefinitions[app].environment[DB_PASSWORD].value
	envPath = regexp.MustCompile(`\.environment\[([^\]]*)\]\.value$`)
	// containerDefinitions[app].dockerLabels.com.example.token,
	// ….logConfiguration.options.splunk-token, volumes[…].dockerVolumeConfiguration.driverOpts.password
	mapPath = regexp.MustCompile(`\.(?:dockerLabels|options|driverOpts|labels)\.(.+)$`)
)

// Field reports whether the value at a flattened task-definition path (see
// plan.Fields) is sensitive: an environment value, docker label or driver
// option under a secret-looking name, or any value shaped like a credential.
// Names themselves (environment[…].name) are not secret.
func Field(path, value string) bool {
	if m := envPath.FindStringSubmatch(path); m != nil && Name(m[1]) {
		return true
	}
	if m := mapPath.FindStringSubmatch(path); m != nil && Name(m[1]) {
		return true
	}
	return Value(value)
}

// Scrubber replaces known secret values in text (an error message that echoes
// what pier sent) with their stand-ins.
type Scrubber struct{ r *strings.Replacer }

// NewScrubber scrubs the given values, longest first so that a secret that
// contains another is replaced whole; values shorter than MinLength are left
// (see MinLength).
func NewScrubber(secrets []string) *Scrubber {
	uniq := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= MinLength {
			uniq[s] = true
		}
	}
	if len(uniq) == 0 {
		return &Scrubber{}
	}
	keys := make([]string, 0, len(uniq))
	for s := range uniq {
		keys = append(keys, s)
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || (len(keys[i]) == len(keys[j]) && keys[i] < keys[j])
	})
	var pairs []string
	for _, s := range keys {
		pairs = append(pairs, s, StandIn(s))
	}
	return &Scrubber{r: strings.NewReplacer(pairs...)}
}

// String returns s with every known secret replaced.
func (s *Scrubber) String(text string) string {
	if s == nil || s.r == nil {
		return text
	}
	return s.r.Replace(text)
}

// Error wraps err so that its message has every known secret replaced;
// errors.Is and errors.As still see err.
func (s *Scrubber) Error(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbed{err: err, msg: s.String(err.Error())}
}

type scrubbed struct {
	err error
	msg string
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }
