package awsapi

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// Without credentials the SDK logs "WARN falling back to IMDSv1" on
// stderr ahead of pier's own, explained error; Load keeps the SDK quiet.
// (Load itself reads the machine's AWS configuration, which tests never do.)
func TestLoadOptionsSilenceTheSDKLogger(t *testing.T) {
	var lo config.LoadOptions
	for _, opt := range loadOptions("ap-northeast-2") {
		if err := opt(&lo); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := lo.Logger.(logging.Nop); !ok {
		t.Errorf("Logger = %T, want logging.Nop", lo.Logger)
	}
	if lo.Region != "ap-northeast-2" || lo.Retryer == nil {
		t.Errorf("region %q, retryer set %v", lo.Region, lo.Retryer != nil)
	}
}
