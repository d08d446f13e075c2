package elbv2

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzServeHTTP sends arbitrary form bodies: every reply must be a 200 or a 400 with
// well-formed XML, never a panic or a 5xx.
func FuzzServeHTTP(f *testing.F) {
	for _, b := range []string{
		"Action=CreateTargetGroup&Version=2015-12-01&Name=a&Protocol=HTTP&Port=80&VpcId=v",
		"Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=x&Targets.member.1.Id=i-1&Targets.member.1.Port=80",
		"Action=DescribeTargetGroups&Version=2015-12-01&Names.member.1=a&PageSize=0",
		"Action=CreateListener&Version=2015-12-01&DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=x",
		"Action=ModifyTargetGroupAttributes&Version=2015-12-01&Attributes.member.2.Key=k",
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := New("123456789012", "eu-west-1")
		// A target group to act on, so deeper paths are reachable.
		pre := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=CreateTargetGroup&Version=2015-12-01&Name=a&Protocol=HTTP&Port=80&VpcId=v"))
		pre.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		s.ServeHTTP(httptest.NewRecorder(), pre)

		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q", w.Code, body)
		}
		dec := xml.NewDecoder(w.Result().Body)
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("reply to %q is not XML: %v", body, err)
			}
		}
	})
}

// TestErrorTextIsXML: an error message echoing bytes XML cannot carry
// (invalid UTF-8, control characters) still parses, with U+FFFD in their place.
func TestErrorTextIsXML(t *testing.T) {
	for _, body := range []string{"Action=%ED", "Action=a%01b", "Action=%3C%26%3E"} {
		s := New("123456789012", "eu-west-1")
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		var reply struct {
			Error struct{ Code, Message string }
		}
		if err := xml.NewDecoder(w.Result().Body).Decode(&reply); err != nil {
			t.Fatalf("%s: reply is not XML: %v", body, err)
		}
		action, _ := url.ParseQuery(body)
		want := strings.Map(func(r rune) rune {
			if r < 0x20 {
				return '\uFFFD'
			}
			return r
		}, strings.ToValidUTF8(action.Get("Action"), "\uFFFD"))
		if w.Code != http.StatusBadRequest || reply.Error.Code != "InvalidAction" || !strings.Contains(reply.Error.Message, "action "+want+" is not valid") {
			t.Errorf("%s: %d %+v, want 400 InvalidAction naming %q", body, w.Code, reply.Error, want)
		}
	}
}
