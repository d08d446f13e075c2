package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestCreateAndDescribeRepositories(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	out, err := e.client.CreateRepository(ctx, &awsecr.CreateRepositoryInput{
		RepositoryName:             aws.String("inforum/nexus"),
		ImageTagMutability:         types.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
	})
	if err != nil {
		t.Fatalf("CreateRepository: %v", err)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryUri) != e.host+"/inforum/nexus" ||
		aws.ToString(r.RepositoryArn) != "arn:aws:ecr:eu-west-1:123456789012:repository/inforum/nexus" ||
		aws.ToString(r.RegistryId) != testAccount ||
		r.ImageTagMutability != types.ImageTagMutabilityImmutable ||
		!r.ImageScanningConfiguration.ScanOnPush ||
		!aws.ToTime(r.CreatedAt).Equal(e.clock.Now()) ||
		r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 {
		t.Errorf("CreateRepository returned %+v", r)
	}
	e.createRepo(t, "alpha", false)

	var exists *types.RepositoryAlreadyExistsException
	if _, err := e.client.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("alpha")}); !errors.As(err, &exists) {
		t.Errorf("creating alpha twice: %v, want RepositoryAlreadyExistsException", err)
	}
	var invalid *types.InvalidParameterException
	if _, err := e.client.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("Upper/Case")}); !errors.As(err, &invalid) {
		t.Errorf("creating Upper/Case: %v, want InvalidParameterException", err)
	}

	tests := []struct {
		name      string
		in        awsecr.DescribeRepositoriesInput
		want      []string
		wantErr   string
		wantMutab types.ImageTagMutability
	}{
		{name: "all", want: []string{"alpha", "inforum/nexus"}},
		{name: "by name", in: awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"inforum/nexus"}}, want: []string{"inforum/nexus"}, wantMutab: types.ImageTagMutabilityImmutable},
		{name: "missing", in: awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"alpha", "ghost"}}, wantErr: "RepositoryNotFoundException"},
		{name: "first page", in: awsecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1)}, want: []string{"alpha"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.client.DescribeRepositories(ctx, &tt.in)
			if tt.wantErr != "" {
				if apiCode(err) != tt.wantErr {
					t.Fatalf("got %v, want %s", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "'ghost'") {
					t.Errorf("error %q does not name the repository", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out.Repositories {
				got = append(got, aws.ToString(r.RepositoryName))
				if tt.wantMutab != "" && r.ImageTagMutability != tt.wantMutab {
					t.Errorf("%s mutability %s", aws.ToString(r.RepositoryName), r.ImageTagMutability)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// The paginator walks the pages the service cuts.
	var all []string
	p := awsecr.NewDescribeRepositoriesPaginator(e.client, &awsecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Repositories {
			all = append(all, aws.ToString(r.RepositoryName))
		}
	}
	if len(all) != 2 {
		t.Errorf("paginated repositories %v", all)
	}
}

func TestGetAuthorizationToken(t *testing.T) {
	e := newEnv(t)
	out, err := e.client.GetAuthorizationToken(context.Background(), &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil || !strings.HasPrefix(string(raw), "AWS:") || len(raw) < 20 {
		t.Errorf("token %q does not decode to AWS:<password> (%v)", raw, err)
	}
	if !aws.ToTime(d.ExpiresAt).Equal(e.clock.Now().Add(12 * time.Hour)) {
		t.Errorf("expiresAt %v, want 12 h after %v", d.ExpiresAt, e.clock.Now())
	}
	if aws.ToString(d.ProxyEndpoint) != "http://"+e.host {
		t.Errorf("proxyEndpoint %q", aws.ToString(d.ProxyEndpoint))
	}
}

func TestImagesReflectPushes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "app", false)
	a := e.auth(t)
	img1, img2 := randomImage(t, 2), randomImage(t, 1)
	if err := e.push(t, "app:v1", img1, a); err != nil {
		t.Fatal(err)
	}
	pushed1 := e.clock.Now()
	e.clock.Advance(time.Minute)
	if err := e.push(t, "app:v2", img2, a); err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(e.ref(t, "app:v2").Context().Tag("latest"), mustRemote(t, e, "app:v2"), remote.WithAuth(a)); err != nil {
		t.Fatal(err)
	}
	d1, d2 := digest(t, img1), digest(t, img2)
	layers, _ := img1.Layers()
	var size1 int64
	for _, l := range layers {
		s, _ := l.Size()
		size1 += s
	}

	out, err := e.client.DescribeImages(ctx, &awsecr.DescribeImagesInput{
		RepositoryName: aws.String("app"),
		ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageDigest: aws.String(d2)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ImageDetails) != 2 {
		t.Fatalf("DescribeImages returned %d images", len(out.ImageDetails))
	}
	got1, got2 := out.ImageDetails[0], out.ImageDetails[1]
	if aws.ToString(got1.ImageDigest) != d1 || aws.ToInt64(got1.ImageSizeInBytes) != size1 ||
		!aws.ToTime(got1.ImagePushedAt).Equal(pushed1) || strings.Join(got1.ImageTags, ",") != "v1" ||
		aws.ToString(got1.ImageManifestMediaType) != "application/vnd.docker.distribution.manifest.v2+json" ||
		aws.ToString(got1.ArtifactMediaType) != "application/vnd.docker.container.image.v1+json" {
		t.Errorf("v1 detail %+v", got1)
	}
	if aws.ToString(got2.ImageDigest) != d2 || strings.Join(got2.ImageTags, ",") != "latest,v2" {
		t.Errorf("v2 detail digest %s tags %v", aws.ToString(got2.ImageDigest), got2.ImageTags)
	}

	var nf *types.ImageNotFoundException
	_, err = e.client.DescribeImages(ctx, &awsecr.DescribeImagesInput{
		RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v9")}},
	})
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "imageTag:'v9'") {
		t.Errorf("DescribeImages(v9): %v, want ImageNotFoundException naming v9", err)
	}
	var rnf *types.RepositoryNotFoundException
	if _, err := e.client.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("ghost")}); !errors.As(err, &rnf) {
		t.Errorf("DescribeImages(ghost): %v, want RepositoryNotFoundException", err)
	}

	bg, err := e.client.BatchGetImage(ctx, &awsecr.BatchGetImageInput{
		RepositoryName: aws.String("app"),
		ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("nope")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw1, _ := img1.RawManifest()
	if len(bg.Images) != 1 || aws.ToString(bg.Images[0].ImageManifest) != string(raw1) || aws.ToString(bg.Images[0].ImageId.ImageDigest) != d1 {
		t.Errorf("BatchGetImage images %+v", bg.Images)
	}
	if len(bg.Failures) != 1 || bg.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound || aws.ToString(bg.Failures[0].ImageId.ImageTag) != "nope" {
		t.Errorf("BatchGetImage failures %+v", bg.Failures)
	}

	li, err := e.client.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("app")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range li.ImageIds {
		ids = append(ids, aws.ToString(id.ImageTag)+"="+aws.ToString(id.ImageDigest)[:13])
	}
	sort.Strings(ids)
	want := []string{"latest=" + d2[:13], "v1=" + d1[:13], "v2=" + d2[:13]}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("ListImages %v, want %v", ids, want)
	}

	// Removing one of two tags keeps the image; removing the last deletes it.
	del, err := e.client.BatchDeleteImage(ctx, &awsecr.BatchDeleteImageInput{
		RepositoryName: aws.String("app"),
		ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("latest")}, {ImageDigest: aws.String(d1)}, {ImageTag: aws.String("gone")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.ImageIds) != 2 || len(del.Failures) != 1 {
		t.Errorf("BatchDeleteImage deleted %d, failed %d", len(del.ImageIds), len(del.Failures))
	}
	if _, ok := e.svc.HasImage(e.host + "/app:v1"); ok {
		t.Error("v1 still pullable after deleting its digest")
	}
	if d, ok := e.svc.HasImage(e.host + "/app:v2"); !ok || d != d2 {
		t.Error("v2 lost when only its other tag was deleted")
	}
	if _, err := remote.Head(e.ref(t, "app:v1"), remote.WithAuth(a)); err == nil {
		t.Error("the registry still serves v1 after BatchDeleteImage")
	}
}

func mustRemote(t *testing.T, e *env, ref string) *remote.Descriptor {
	t.Helper()
	d, err := remote.Get(e.ref(t, ref), remote.WithAuth(e.auth(t)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTagMutabilityAndDeleteRepository(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "app", false)
	a := e.auth(t)
	if err := e.push(t, "app:v1", randomImage(t, 1), a); err != nil {
		t.Fatal(err)
	}
	out, err := e.client.PutImageTagMutability(ctx, &awsecr.PutImageTagMutabilityInput{
		RepositoryName: aws.String("app"), ImageTagMutability: types.ImageTagMutabilityImmutable,
	})
	if err != nil || out.ImageTagMutability != types.ImageTagMutabilityImmutable {
		t.Fatalf("PutImageTagMutability: %v %+v", err, out)
	}
	if _, code, _ := regCode(e.push(t, "app:v1", randomImage(t, 1), a)); code != "TAG_INVALID" {
		t.Errorf("overwriting v1 after switching to IMMUTABLE: code %q, want TAG_INVALID", code)
	}
	if _, err := e.client.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("app")}); apiCode(err) != "RepositoryNotEmptyException" {
		t.Errorf("deleting a repository with images: %v", err)
	}
	if _, err := e.client.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("app"), Force: true}); err != nil {
		t.Fatalf("force delete: %v", err)
	}
	if _, code, _ := regCode(e.push(t, "app:v2", randomImage(t, 1), a)); code != "NAME_UNKNOWN" {
		t.Errorf("pushing to a deleted repository: %q, want NAME_UNKNOWN", code)
	}
}

func TestPutImageRetags(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "app", true)
	a := e.auth(t)
	img := randomImage(t, 1)
	if err := e.push(t, "app:v1", img, a); err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	put := func(tag string, manifest []byte) error {
		_, err := e.client.PutImage(ctx, &awsecr.PutImageInput{
			RepositoryName: aws.String("app"), ImageManifest: aws.String(string(manifest)),
			ImageManifestMediaType: aws.String(string(mt)), ImageTag: aws.String(tag),
		})
		return err
	}
	if err := put("prod", raw); err != nil {
		t.Fatalf("PutImage adding tag prod: %v", err)
	}
	if d, _ := e.svc.HasImage(e.host + "/app:prod"); d != digest(t, img) {
		t.Errorf("prod → %s", d)
	}
	var already *types.ImageAlreadyExistsException
	if err := put("prod", raw); !errors.As(err, &already) {
		t.Errorf("PutImage same tag same digest: %v, want ImageAlreadyExistsException", err)
	}
	other, _ := randomImage(t, 1).RawManifest()
	var layers *types.LayersNotFoundException
	if err := put("v2", other); !errors.As(err, &layers) {
		t.Errorf("PutImage with unknown layers: %v, want LayersNotFoundException", err)
	}
}

func TestScanOnPush(t *testing.T) {
	e := newEnv(t)
	a := e.auth(t)
	for _, tt := range []struct {
		repo string
		scan bool
	}{{"scanned", true}, {"unscanned", false}} {
		if err := e.svc.CreateRepository(tt.repo, false, tt.scan); err != nil {
			t.Fatal(err)
		}
		if err := e.push(t, tt.repo+":v1", randomImage(t, 1), a); err != nil {
			t.Fatal(err)
		}
		out, err := e.client.DescribeImages(context.Background(), &awsecr.DescribeImagesInput{RepositoryName: aws.String(tt.repo)})
		if err != nil {
			t.Fatal(err)
		}
		d := out.ImageDetails[0]
		switch {
		case tt.scan && (d.ImageScanStatus == nil || d.ImageScanStatus.Status != types.ScanStatusComplete ||
			d.ImageScanFindingsSummary == nil || !aws.ToTime(d.ImageScanFindingsSummary.ImageScanCompletedAt).Equal(e.clock.Now())):
			t.Errorf("%s: scan status %+v, summary %+v; want COMPLETE at push time", tt.repo, d.ImageScanStatus, d.ImageScanFindingsSummary)
		case !tt.scan && d.ImageScanStatus != nil:
			t.Errorf("%s: scan status %+v without scanOnPush", tt.repo, d.ImageScanStatus)
		}
	}
	if err := e.svc.CreateRepository("scanned", false, false); err == nil {
		t.Error("CreateRepository of an existing repository succeeded")
	}
}

func TestMultiPlatformIndex(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createRepo(t, "web", false)
	idx, err := SyntheticImage("example.com/web:1", []string{"linux/amd64", "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(e.ref(t, "web:1"), idx, remote.WithAuth(e.auth(t))); err != nil {
		t.Fatalf("pushing an index: %v", err)
	}
	im, _ := idx.IndexManifest()
	child := im.Manifests[1].Digest.String()

	out, err := e.client.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	var tagged, untagged int
	for _, d := range out.ImageDetails {
		if len(d.ImageTags) > 0 {
			tagged++
			if aws.ToString(d.ImageDigest) != digest(t, idx) || aws.ToString(d.ImageManifestMediaType) != "application/vnd.oci.image.index.v1+json" ||
				aws.ToInt64(d.ImageSizeInBytes) == 0 {
				t.Errorf("index detail %+v", d)
			}
		} else {
			untagged++
		}
	}
	if tagged != 1 || untagged != 2 {
		t.Errorf("DescribeImages: %d tagged, %d untagged; want the index and its 2 platform images", tagged, untagged)
	}
	li, err := e.client.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("web"), Filter: &types.ListImagesFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil || len(li.ImageIds) != 2 {
		t.Errorf("ListImages UNTAGGED: %+v %v", li, err)
	}
	if p, ok := e.svc.ImagePlatforms(e.host + "/web:1"); !ok || strings.Join(p, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("ImagePlatforms = %v, %v", p, ok)
	}

	del, err := e.client.BatchDeleteImage(ctx, &awsecr.BatchDeleteImageInput{
		RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(child)}},
	})
	if err != nil || len(del.Failures) != 1 || del.Failures[0].FailureCode != types.ImageFailureCodeImageReferencedByManifestList {
		t.Errorf("deleting a platform image the index needs: %+v %v", del, err)
	}
	bg, err := e.client.BatchGetImage(ctx, &awsecr.BatchGetImageInput{
		RepositoryName: aws.String("web"),
		ImageIds:       []types.ImageIdentifier{{ImageTag: aws.String("1"), ImageDigest: aws.String(child)}, {ImageDigest: aws.String("sha256:zz")}},
	})
	if err != nil || len(bg.Failures) != 2 || bg.Failures[0].FailureCode != types.ImageFailureCodeImageTagDoesNotMatchDigest ||
		bg.Failures[1].FailureCode != types.ImageFailureCodeInvalidImageDigest {
		t.Errorf("BatchGetImage with a mismatched tag and a bad digest: %+v %v", bg, err)
	}
}

func TestBatchGetImageAcceptedMediaTypes(t *testing.T) {
	e := newEnv(t)
	e.createRepo(t, "app", false)
	if err := e.push(t, "app:v1", randomImage(t, 1), e.auth(t)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		accept []string
		found  bool
	}{
		{accept: []string{"application/vnd.docker.distribution.manifest.v2+json"}, found: true},
		{accept: []string{"application/vnd.oci.image.manifest.v1+json"}, found: false},
		{accept: nil, found: true},
	} {
		out, err := e.client.BatchGetImage(context.Background(), &awsecr.BatchGetImageInput{
			RepositoryName: aws.String("app"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}, AcceptedMediaTypes: tt.accept,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(out.Images) == 1; got != tt.found || (!tt.found && out.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound) {
			t.Errorf("accepting %v: images %d, failures %+v", tt.accept, len(out.Images), out.Failures)
		}
	}
}
