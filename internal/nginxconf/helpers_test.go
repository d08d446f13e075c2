package nginxconf

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse("n.conf", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return cfg
}

func TestProxyPasses(t *testing.T) {
	tests := []struct {
		url      string
		scheme   string
		host     string
		port     int
		given    bool
		path     string
		variable bool
		upstream bool
	}{
		{"http://springboot:8080", "http", "springboot", 8080, true, "", false, false},
		{"http://next:3000/", "http", "next", 3000, true, "/", false, false},
		{"http://app", "http", "app", 80, false, "", false, true},
		{"https://api.example.com/v1/", "https", "api.example.com", 443, false, "/v1/", false, false},
		{"http://[::1]:9000", "http", "::1", 9000, true, "", false, false},
		{"http://unix:/run/app.sock:/api", "http", "unix:/run/app.sock", 0, false, "/api", false, false},
		{"http://$backend:8081", "http", "$backend", 8081, true, "", true, false},
		{"http://$backend", "http", "$backend", 80, false, "", true, false},
		{"HTTP://Next:3000", "http", "Next", 3000, true, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			cfg := mustParse(t, "http { upstream app { server a:1; } server { location / {\n  proxy_pass "+tt.url+";\n} } }")
			pps := cfg.ProxyPasses()
			if len(pps) != 1 {
				t.Fatalf("got %d proxy_pass", len(pps))
			}
			pp := pps[0]
			if pp.Scheme != tt.scheme || pp.Host != tt.host || pp.Port != tt.port || pp.PortGiven != tt.given ||
				pp.Path != tt.path || pp.Variable != tt.variable || (pp.Upstream != nil) != tt.upstream {
				t.Errorf("got %+v", pp)
			}
			if pp.URL != tt.url || pp.Pos.Line != 2 || pp.Pos.Col != 14 {
				t.Errorf("URL %q at %v", pp.URL, pp.Pos)
			}
		})
	}
}

func TestUpstreamServers(t *testing.T) {
	cfg := mustParse(t, "http { upstream app { server springboot:8080 max_fails=3; server 10.0.0.1; server unix:/s.sock; keepalive 4; } }")
	got := UpstreamServers(cfg.Find("upstream")[0])
	want := []Endpoint{{Host: "springboot", Port: 8080, PortGiven: true}, {Host: "10.0.0.1", Port: 80}, {Host: "unix:/s.sock"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
}

func TestMethodFilters(t *testing.T) {
	tests := []struct {
		cond    string
		op      string
		methods []string
		negated bool
		unknown []string
	}{
		{`($request_method !~ ^(GET|HEAD|POST|OPTION)$)`, "!~", []string{"GET", "HEAD", "POST", "OPTION"}, true, []string{"OPTION"}},
		{`($request_method !~ ^(GET|HEAD|POST|OPTIONS)$)`, "!~", []string{"GET", "HEAD", "POST", "OPTIONS"}, true, nil},
		{`( $request_method !~ ^(?:GET|PUT|PATCH)$ )`, "!~", []string{"GET", "PUT", "PATCH"}, true, nil},
		{`($request_method ~ ^P(OST|UT)$)`, "~", []string{"POST", "PUT"}, false, nil},
		{`($request_method ~* ^(get|delet)$)`, "~*", []string{"GET", "DELET"}, false, []string{"DELET"}},
		{`($request_method ~ ^[Gg]ET$)`, "~", []string{"GET"}, false, nil},
		{`($request_method = OPTIONS)`, "=", []string{"OPTIONS"}, false, nil},
		{`($request_method != "GET")`, "!=", []string{"GET"}, true, nil},
		{`($request_method ~ ^(GET|HEAD).*)`, "~", nil, false, nil},
		{`($request_method ~ GETS?)`, "~", []string{"GET", "GETS"}, false, []string{"GETS"}},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			cfg := mustParse(t, "http { server { location / { if "+tt.cond+" { return 405; } } } }")
			mfs := cfg.MethodFilters()
			if len(mfs) != 1 {
				t.Fatalf("got %d filters", len(mfs))
			}
			mf := mfs[0]
			if mf.Op != tt.op || !reflect.DeepEqual(mf.Methods, tt.methods) || mf.Negated != tt.negated || !reflect.DeepEqual(mf.Unknown(), tt.unknown) {
				t.Errorf("got op %q methods %q negated %v unknown %q", mf.Op, mf.Methods, mf.Negated, mf.Unknown())
			}
		})
	}
	cfg := mustParse(t, "http { server { location / { if ($http_user_agent ~ bot) { return 403; } limit_except GET OPTION { deny all; } } } }")
	mfs := cfg.MethodFilters()
	if len(mfs) != 1 || mfs[0].Op != "limit_except" || !reflect.DeepEqual(mfs[0].Unknown(), []string{"OPTION"}) || !mfs[0].Negated {
		t.Errorf("limit_except: %+v", mfs)
	}
}

func TestSeedMethodTypo(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "testdata", "inforum", "frontend", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	mfs := cfg.MethodFilters()
	if len(mfs) != 1 {
		t.Fatalf("got %d filters", len(mfs))
	}
	if got := mfs[0].Unknown(); !reflect.DeepEqual(got, []string{"OPTION"}) {
		t.Errorf("Unknown() = %v", got)
	}
	if p := mfs[0].Pos; p.Line != 26 || p.Col != 24 || !strings.HasSuffix(p.File, "frontend/nginx.conf") {
		t.Errorf("Pos = %v", p)
	}
	if s := SuggestMethod("OPTION"); s != "OPTIONS" {
		t.Errorf("SuggestMethod(OPTION) = %q", s)
	}
	if s := SuggestMethod("FROB"); s != "" {
		t.Errorf("SuggestMethod(FROB) = %q", s)
	}
}

func TestHeaderOverrides(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "block@line: dropped,dropped (from)"
	}{
		{"seed: only http level", "http { add_header A 1; add_header B 2; server { location / { proxy_pass http://x:1; } } }", nil},
		{"location drops http headers", "http {\nadd_header A 1;\nadd_header B 2;\nserver {\nlocation / {\nadd_header C 3;\n} } }",
			[]string{"location /@5: A,B (from http)"}},
		{"redeclared header is not dropped", "http { add_header A 1; add_header B 2; server { add_header a 9; } }",
			[]string{"server@1: B (from http)"}},
		{"all redeclared", "http { add_header A 1; server { add_header A 2; } }", nil},
		{"nearest level counts", "http { add_header A 1; server { add_header B 2; location / { add_header C 3; } } }",
			[]string{"server@1: A (from http)", "location /@1: B (from server)"}},
		{"if inherits from location", "http { server { location / { add_header A 1; if ($x) { add_header B 2; } } } }",
			[]string{"if ($x)@1: A (from location /)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, o := range mustParse(t, tt.src).HeaderOverrides() {
				var names []string
				for _, d := range o.Dropped {
					names = append(names, d.Args[0])
				}
				got = append(got, o.Block.String()+"@"+strconv.Itoa(o.Block.Pos.Line)+": "+strings.Join(names, ",")+" (from "+o.From.String()+")")
				if len(o.Own) == 0 {
					t.Error("an override must have its own add_header")
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	cfg := mustParse(t, "http { add_header A 1; server { } }")
	if n := len(cfg.AddHeaders(cfg.Find("http")[0])); n != 1 {
		t.Errorf("AddHeaders(http) = %d", n)
	}
	if n := len(cfg.AddHeaders(nil)); n != 0 {
		t.Errorf("AddHeaders(nil) = %d", n)
	}
}
