package ecr

import (
	"net/http"
)

type imageID struct {
	ImageDigest *string `json:"imageDigest,omitempty"`
	ImageTag    *string `json:"imageTag,omitempty"`
}

func str(s string) *string { return &s }

func (id imageID) String() string {
	d, t := "null", "null"
	if id.ImageDigest != nil {
		d = *id.ImageDigest
	}
	if id.ImageTag != nil {
		t = *id.ImageTag
	}
	return "{imageDigest:'" + d + "', imageTag:'" + t + "'}"
}

// find resolves an imageId the way ECR does, returning a failure code when it cannot.
func (rep *repository) find(id imageID) (*image, string, string) {
	switch {
	case id.ImageDigest == nil && id.ImageTag == nil:
		return nil, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"
	case id.ImageDigest != nil && !digestRE.MatchString(*id.ImageDigest):
		return nil, "InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
	case id.ImageTag != nil && !tagRE.MatchString(*id.ImageTag):
		return nil, "InvalidImageTag", "Invalid request parameters: image tag should satisfy the regex '[a-zA-Z0-9-_.]+'"
	}
	var img *image
	if id.ImageDigest != nil {
		img = rep.images[*id.ImageDigest]
		if img != nil && id.ImageTag != nil && rep.tags[*id.ImageTag] != img.digest {
			return nil, "ImageTagDoesNotMatchDigest", "Invalid request parameters: given tag does not map to the given digest"
		}
	} else {
		img = rep.images[rep.tags[*id.ImageTag]]
	}
	if img == nil {
		return nil, "ImageNotFound", "Requested image not found"
	}
	return img, "", ""
}

type imageDetail struct {
	RegistryID             string   `json:"registryId"`
	RepositoryName         string   `json:"repositoryName"`
	ImageDigest            string   `json:"imageDigest"`
	ImageTags              []string `json:"imageTags,omitempty"`
	ImageSizeInBytes       int64    `json:"imageSizeInBytes"`
	ImagePushedAt          *epoch   `json:"imagePushedAt,omitempty"`
	ImageManifestMediaType string   `json:"imageManifestMediaType"`
	ArtifactMediaType      string   `json:"artifactMediaType,omitempty"`
	LastRecordedPullTime   *epoch   `json:"lastRecordedPullTime,omitempty"`
	ImageStatus            string   `json:"imageStatus"`
	ImageScanStatus        *struct {
		Status      string `json:"status"`
		Description string `json:"description"`
	} `json:"imageScanStatus,omitempty"`
	ImageScanFindingsSummary *scanSummary `json:"imageScanFindingsSummary,omitempty"`
}

// scanSummary reports a clean basic scan: synthetic and pushed images have no known
// vulnerabilities.
type scanSummary struct {
	ImageScanCompletedAt         *epoch           `json:"imageScanCompletedAt"`
	VulnerabilitySourceUpdatedAt *epoch           `json:"vulnerabilitySourceUpdatedAt"`
	FindingSeverityCounts        map[string]int32 `json:"findingSeverityCounts"`
}

func (s *Service) detail(rep *repository, img *image) imageDetail {
	d := imageDetail{
		RegistryID:             s.account,
		RepositoryName:         rep.name,
		ImageDigest:            img.digest,
		ImageTags:              rep.tagsOf(img.digest),
		ImageSizeInBytes:       img.size,
		ImagePushedAt:          ts(img.pushedAt),
		ImageManifestMediaType: img.mediaType,
		ArtifactMediaType:      img.artifactMediaType,
		LastRecordedPullTime:   ts(img.lastPull),
		ImageStatus:            "ACTIVE",
	}
	if img.scanned {
		d.ImageScanStatus = &struct {
			Status      string `json:"status"`
			Description string `json:"description"`
		}{"COMPLETE", "The scan was completed successfully."}
		d.ImageScanFindingsSummary = &scanSummary{
			ImageScanCompletedAt:         ts(img.pushedAt),
			VulnerabilitySourceUpdatedAt: ts(img.pushedAt),
			FindingSeverityCounts:        map[string]int32{},
		}
	}
	return d
}

type tagFilter struct {
	TagStatus *string `json:"tagStatus"`
}

// keep reports whether an image with the given tags passes the tagStatus filter.
func (f *tagFilter) keep(tags int) (bool, error) {
	if f == nil || f.TagStatus == nil {
		return true, nil
	}
	switch *f.TagStatus {
	case "ANY":
		return true, nil
	case "TAGGED":
		return tags > 0, nil
	case "UNTAGGED":
		return tags == 0, nil
	}
	return false, errorf("InvalidParameterException",
		"Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'")
}

type describeImagesIn struct {
	repoRef
	ImageIDs   []imageID  `json:"imageIds"`
	Filter     *tagFilter `json:"filter"`
	NextToken  *string    `json:"nextToken"`
	MaxResults *int32     `json:"maxResults"`
}

type describeImagesOut struct {
	ImageDetails []imageDetail `json:"imageDetails"`
	NextToken    *string       `json:"nextToken,omitempty"`
}

func (s *Service) describeImages(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *describeImagesIn, rep *repository) (*describeImagesOut, error) {
		out := &describeImagesOut{ImageDetails: []imageDetail{}}
		if len(in.ImageIDs) > 0 {
			if in.MaxResults != nil || in.NextToken != nil {
				return nil, errorf("InvalidParameterException", "maxResults and nextToken cannot be used with imageIds")
			}
			for _, id := range in.ImageIDs {
				img, code, reason := rep.find(id)
				switch code {
				case "":
				case "ImageNotFound", "ImageTagDoesNotMatchDigest":
					return nil, errorf("ImageNotFoundException",
						"The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'",
						id, rep.name, s.account)
				default:
					return nil, errorf("InvalidParameterException", "%s", reason)
				}
				out.ImageDetails = append(out.ImageDetails, s.detail(rep, img))
			}
			return out, nil
		}
		var all []imageDetail
		for _, img := range rep.sortedImages() {
			d := s.detail(rep, img)
			ok, err := in.Filter.keep(len(d.ImageTags))
			if err != nil {
				return nil, err
			}
			if ok {
				all = append(all, d)
			}
		}
		got, next, err := page(all, in.NextToken, in.MaxResults, 1000)
		if err != nil {
			return nil, err
		}
		out.ImageDetails = append(out.ImageDetails, got...)
		out.NextToken = next
		return out, nil
	})
}

type wireImage struct {
	RegistryID             string  `json:"registryId"`
	RepositoryName         string  `json:"repositoryName"`
	ImageID                imageID `json:"imageId"`
	ImageManifest          string  `json:"imageManifest"`
	ImageManifestMediaType string  `json:"imageManifestMediaType"`
}

// wireImage is img as BatchGetImage and PutImage return it, named by id.
func (s *Service) wireImage(rep *repository, img *image, id imageID) wireImage {
	return wireImage{
		RegistryID: s.account, RepositoryName: rep.name, ImageID: id,
		ImageManifest: string(img.raw), ImageManifestMediaType: img.mediaType,
	}
}

type imageFailure struct {
	ImageID       imageID `json:"imageId"`
	FailureCode   string  `json:"failureCode"`
	FailureReason string  `json:"failureReason"`
}

type batchGetImageIn struct {
	repoRef
	ImageIDs           []imageID `json:"imageIds"`
	AcceptedMediaTypes []string  `json:"acceptedMediaTypes"`
}

type batchGetImageOut struct {
	Images   []wireImage    `json:"images"`
	Failures []imageFailure `json:"failures"`
}

// checkImageIDs enforces ECR's bounds on a batch's imageIds.
func checkImageIDs(ids []imageID) error {
	if len(ids) == 0 || len(ids) > 100 {
		return errorf("InvalidParameterException",
			"Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length between 1 and 100'")
	}
	return nil
}

func (in *batchGetImageIn) check() error { return checkImageIDs(in.ImageIDs) }

func (s *Service) batchGetImage(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *batchGetImageIn, rep *repository) (*batchGetImageOut, error) {
		out := &batchGetImageOut{Images: []wireImage{}, Failures: []imageFailure{}}
		for _, id := range in.ImageIDs {
			img, code, reason := rep.find(id)
			if code == "" && len(in.AcceptedMediaTypes) > 0 && !contains(in.AcceptedMediaTypes, img.mediaType) {
				// ECR converts between some manifest formats; the simulator converts none.
				code, reason = "ImageNotFound", "Requested image not found in an accepted media type (stored as "+img.mediaType+")"
			}
			if code != "" {
				out.Failures = append(out.Failures, imageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
				continue
			}
			got := id
			got.ImageDigest = str(img.digest)
			out.Images = append(out.Images, s.wireImage(rep, img, got))
		}
		return out, nil
	})
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

type listImagesIn struct {
	repoRef
	Filter     *tagFilter `json:"filter"`
	NextToken  *string    `json:"nextToken"`
	MaxResults *int32     `json:"maxResults"`
}

type listImagesOut struct {
	ImageIDs  []imageID `json:"imageIds"`
	NextToken *string   `json:"nextToken,omitempty"`
}

func (s *Service) listImages(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *listImagesIn, rep *repository) (*listImagesOut, error) {
		var ids []imageID
		for _, img := range rep.sortedImages() {
			tags := rep.tagsOf(img.digest)
			ok, err := in.Filter.keep(len(tags))
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			ids = append(ids, idsOf(img.digest, tags)...)
		}
		got, next, err := page(ids, in.NextToken, in.MaxResults, 1000)
		if err != nil {
			return nil, err
		}
		return &listImagesOut{ImageIDs: append([]imageID{}, got...), NextToken: next}, nil
	})
}

// idsOf names an image as ListImages and BatchDeleteImage list it: once per tag, or
// by its digest alone when it has no tag.
func idsOf(digest string, tags []string) []imageID {
	if len(tags) == 0 {
		return []imageID{{ImageDigest: str(digest)}}
	}
	ids := make([]imageID, 0, len(tags))
	for _, t := range tags {
		ids = append(ids, imageID{ImageDigest: str(digest), ImageTag: str(t)})
	}
	return ids
}

type batchDeleteImageIn struct {
	repoRef
	ImageIDs []imageID `json:"imageIds"`
}

type batchDeleteImageOut struct {
	ImageIDs []imageID      `json:"imageIds"`
	Failures []imageFailure `json:"failures"`
}

func (in *batchDeleteImageIn) check() error { return checkImageIDs(in.ImageIDs) }

func (s *Service) batchDeleteImage(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *batchDeleteImageIn, rep *repository) (*batchDeleteImageOut, error) {
		out := &batchDeleteImageOut{ImageIDs: []imageID{}, Failures: []imageFailure{}}
		for _, id := range in.ImageIDs {
			img, code, reason := rep.find(id)
			if code == "" && id.ImageTag == nil {
				if parents := rep.parentsOf(img.digest); len(parents) > 0 {
					code, reason = "ImageReferencedByManifestList", "Requested image referenced by manifest list: "+parents[0]
				}
			}
			if code != "" {
				out.Failures = append(out.Failures, imageFailure{ImageID: id, FailureCode: code, FailureReason: reason})
				continue
			}
			if id.ImageTag != nil {
				// Removing a tag deletes the image only when it was the last one.
				delete(rep.tags, *id.ImageTag)
				out.ImageIDs = append(out.ImageIDs, imageID{ImageDigest: str(img.digest), ImageTag: id.ImageTag})
				if len(rep.tagsOf(img.digest)) == 0 && len(rep.parentsOf(img.digest)) == 0 {
					rep.deleteImage(img.digest)
				}
				continue
			}
			tags := rep.tagsOf(img.digest)
			rep.deleteImage(img.digest)
			out.ImageIDs = append(out.ImageIDs, idsOf(img.digest, tags)...)
		}
		return out, nil
	})
}

type putImageIn struct {
	repoRef
	ImageManifest          *string `json:"imageManifest"`
	ImageManifestMediaType *string `json:"imageManifestMediaType"`
	ImageTag               *string `json:"imageTag"`
	ImageDigest            *string `json:"imageDigest"`
}

type putImageOut struct {
	Image wireImage `json:"image"`
}

func (in *putImageIn) check() error {
	if in.ImageManifest == nil {
		return errorf("InvalidParameterException", "imageManifest must be specified")
	}
	return nil
}

// putImage is the control-plane manifest upload (used to retag without the registry).
func (s *Service) putImage(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *putImageIn, rep *repository) (*putImageOut, error) {
		var mt, tag, want string
		if in.ImageManifestMediaType != nil {
			mt = *in.ImageManifestMediaType
		}
		if in.ImageTag != nil {
			tag = *in.ImageTag
		}
		if in.ImageDigest != nil {
			want = *in.ImageDigest
		}
		raw := []byte(*in.ImageManifest)
		if old := rep.images[digestOf(raw)]; old != nil && (tag == "" || rep.tags[tag] == old.digest) {
			return nil, errorf("ImageAlreadyExistsException",
				"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'",
				old.digest, tag, rep.name, s.account)
		}
		img, p := s.storeManifest(rep, raw, mt, tag, want)
		if p != nil {
			switch p.kind {
			case problemImmutableTag:
				return nil, errorf("ImageTagAlreadyExistsException", "%s", p.msg)
			case problemBlobUnknown:
				return nil, errorf("LayersNotFoundException", "%s", p.msg)
			case problemDigest:
				return nil, errorf("ImageDigestDoesNotMatchException", "%s", p.msg)
			}
			return nil, errorf("InvalidParameterException", "%s", p.msg)
		}
		id := imageID{ImageDigest: str(img.digest)}
		if tag != "" {
			id.ImageTag = str(tag)
		}
		return &putImageOut{Image: s.wireImage(rep, img, id)}, nil
	})
}
