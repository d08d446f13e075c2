package config

import (
	"strings"
	"testing"
)

func TestInputsConfined(t *testing.T) {
	const svc = "services:\n  s: { cluster: c, taskDefinition: t.json }\n"
	for _, tc := range []struct {
		name, yaml string
		want       string // the error, or "" for none
	}{
		{"relative jar", "images:\n  a: { springboot: { jar: build/app.jar } }\n" + svc, ""},
		{"dot dot that stays inside", "images:\n  a: { springboot: { jar: build/../app.jar } }\n" + svc, ""},
		{"absolute files source", "images:\n  a:\n    files: { base: b, files: { /etc/x: /etc/shadow } }\n" + svc,
			`deploy/pier.yaml:3:40: image "a" files source for /etc/x: /etc/shadow is an absolute path, so it is outside deploy`},
		{"climbing files source", "images:\n  a:\n    files: { base: b, files: { /etc/x: ../../../../etc/shadow } }\n" + svc,
			`deploy/pier.yaml:3:40: image "a" files source for /etc/x: ../../../../etc/shadow climbs out with .., so it is outside deploy`},
		{"absolute nginx config", "images:\n  a: { nginx: { config: /etc/nginx/nginx.conf } }\n" + svc,
			`deploy/pier.yaml:2:25: image "a" nginx config: /etc/nginx/nginx.conf is an absolute path`},
		{"climbing next dir", "images:\n  a: { next: { dir: .. } }\n" + svc,
			`deploy/pier.yaml:2:21: image "a" next dir: .. climbs out with ..`},
		{"absolute oci scalar", "images:\n  a: { oci: /tmp/x.tar }\n" + svc,
			`deploy/pier.yaml:2:13: image "a" oci path: /tmp/x.tar is an absolute path`},
		{"absolute from a variable", "images:\n  a: { springboot: { jar: '${JAR}' } }\n" + svc,
			`deploy/pier.yaml:2:27: image "a" springboot jar: /root/.aws/credentials is an absolute path`},
		{"absolute task definition", "services:\n  s: { cluster: c, taskDefinition: /etc/passwd }\n",
			`deploy/pier.yaml:2:36: service "s" taskDefinition: /etc/passwd is an absolute path`},
		{"destination with dot dot", "images:\n  a:\n    files: { base: b, files: { /app/../etc/x: x } }\n" + svc,
			`deploy/pier.yaml:3:32: image "a" builder files files: destination "/app/../etc/x" must not contain ..: write the path it means, /etc/x`},
		{"destination relative", "images:\n  a:\n    files: { base: b, files: { etc/x: x } }\n" + svc,
			`deploy/pier.yaml:3:32: image "a" builder files files: destination "etc/x" must be an absolute path in the image`},
		{"platformFiles source climbing", "images:\n  a:\n    files: { base: scratch, platformFiles: { linux/amd64: { /pier: ../../etc/passwd } } }\n" + svc,
			`deploy/pier.yaml:3:61: image "a" platformFiles linux/amd64 source for /pier: ../../etc/passwd climbs out with ..`},
		{"platformFiles destination with dot dot", "images:\n  a:\n    files: { base: scratch, platformFiles: { linux/amd64: { /a/../pier: p } } }\n" + svc,
			`deploy/pier.yaml:3:61: image "a" builder files platformFiles linux/amd64: destination "/a/../pier" must not contain ..`},
		{"context below", "context: app\nimages:\n  a: { springboot: { jar: app/app.jar } }\n" + svc, ""},
		{"outside the context", "context: app\nimages:\n  a: { springboot: { jar: other/app.jar } }\n" + svc,
			`deploy/pier.yaml:3:27: image "a" springboot jar: other/app.jar is outside context: app (line 1), the only directory builds may read`},
		{"context climbing", "context: ../\n" + svc,
			`deploy/pier.yaml:1:10: context: ../ climbs out with .., so it is outside deploy`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("deploy/pier.yaml", []byte(tc.yaml), env("JAR", "/root/.aws/credentials"))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, img := range f.Images {
					for _, in := range img.Inputs {
						if !strings.HasPrefix(in.Path, "deploy/") || !in.Pos.IsValid() {
							t.Errorf("input %+v: not joined with the file's directory, or no position", in)
						}
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tc.want)
			}
		})
	}
}

func TestInputsListed(t *testing.T) {
	f, err := Parse("pier.yaml", []byte(`context: .
images:
  web:
    nginx:
      config: nginx.conf
      files: { /etc/nginx/a.rules: rules/a, /etc/nginx/b.rules: rules/b }
  app: { springboot: { jar: app.jar } }
  front: { next: { dir: web } }
  tool: { files: { base: alpine, files: { /bin/x: bin/x } } }
  lay: { oci: { path: layout } }
  mirror: { copy: docker.io/library/nginx:1 }
services:
  s: { cluster: c, taskDefinition: t.json }
`), env())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, img := range f.Images {
		for _, in := range img.Inputs {
			got = append(got, img.Name+" "+in.What+" "+in.Path+" "+in.Pos.String())
		}
	}
	want := []string{
		"web nginx config nginx.conf pier.yaml:5:15",
		"web files source for /etc/nginx/a.rules rules/a pier.yaml:6:36",
		"web files source for /etc/nginx/b.rules rules/b pier.yaml:6:65",
		"app springboot jar app.jar pier.yaml:7:29",
		"front next dir web pier.yaml:8:25",
		"tool files source for /bin/x bin/x pier.yaml:9:51",
		"lay oci path layout pier.yaml:10:23",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("inputs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f.BuildDir() != "." {
		t.Errorf("BuildDir() = %q, want .", f.BuildDir())
	}
}
