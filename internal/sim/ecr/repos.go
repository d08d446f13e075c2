package ecr

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"time"
)

// repository is one ECR repository with everything the registry holds for it.
type repository struct {
	name       string
	createdAt  time.Time
	mutability string
	scanOnPush bool
	encryption string
	// mirror marks a stand-in for a public repository (Docker Hub and the like):
	// readable anonymously and left out of DescribeRepositories.
	mirror bool

	images map[string]*image // manifest digest → image
	tags   map[string]string // tag → manifest digest
	blobs  map[string]int64  // blob digest → size: the blobs this repository can serve
}

func newRepository(name string, now time.Time) *repository {
	return &repository{
		name:       name,
		createdAt:  now,
		mutability: "MUTABLE",
		encryption: "AES256",
		images:     map[string]*image{},
		tags:       map[string]string{},
		blobs:      map[string]int64{},
	}
}

func (r *repository) immutable() bool {
	return r.mutability == "IMMUTABLE" || r.mutability == "IMMUTABLE_WITH_EXCLUSION"
}

// repoNameRE is ECR's constraint on repository names.
var repoNameRE = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func validRepoName(name string) error {
	if len(name) < 2 || len(name) > 256 || !repoNameRE.MatchString(name) {
		return errorf("InvalidParameterException",
			"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '%s' and have length between 2 and 256'; got %q",
			repoNameRE.String(), name)
	}
	return nil
}

func (s *Service) repoNotFound(name string) error {
	return errorf("RepositoryNotFoundException",
		"The repository with name '%s' does not exist in the registry with id '%s'", name, s.account)
}

func (s *Service) checkRegistryID(id *string) error {
	if id != nil && *id != s.account {
		return errorf("InvalidParameterException",
			"Invalid parameter at 'registryId': the simulated registry is '%s', not '%s'", s.account, *id)
	}
	return nil
}

// lookup returns the repository called name, or RepositoryNotFoundException.
// Callers hold s.mu.
func (s *Service) lookup(name *string) (*repository, error) {
	if name == nil || *name == "" {
		return nil, errorf("InvalidParameterException", "repositoryName must be specified")
	}
	r := s.repos[*name]
	if r == nil {
		return nil, s.repoNotFound(*name)
	}
	return r, nil
}

// repoRef names the repository of a per-repository request; each such request
// embeds it, so its fields stay top-level on the wire.
type repoRef struct {
	RegistryID     *string `json:"registryId"`
	RepositoryName *string `json:"repositoryName"`
}

func (r *repoRef) ref() *repoRef { return r }

// check is the input check of a request that has none beyond its repository; a
// request type with its own checks (that need no lock) defines check itself.
func (*repoRef) check() error { return nil }

type repoRequest interface {
	ref() *repoRef
	check() error
}

// handleRepo is handle for the operations on one repository. They all open alike,
// and in this order: the registry id, the request's own check, then the
// repository, which f receives with s.mu held.
func handleRepo[In any, PIn interface {
	*In
	repoRequest
}, Out any](s *Service, w http.ResponseWriter, r *http.Request, f func(PIn, *repository) (*Out, error)) {
	handle(w, r, func(in *In) (*Out, error) {
		req := PIn(in)
		if err := s.checkRegistryID(req.ref().RegistryID); err != nil {
			return nil, err
		}
		if err := req.check(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		rep, err := s.lookup(req.ref().RepositoryName)
		if err != nil {
			return nil, err
		}
		return f(req, rep)
	})
}

type wireRepository struct {
	RepositoryArn              string              `json:"repositoryArn"`
	RegistryID                 string              `json:"registryId"`
	RepositoryName             string              `json:"repositoryName"`
	RepositoryURI              string              `json:"repositoryUri"`
	CreatedAt                  *epoch              `json:"createdAt,omitempty"`
	ImageTagMutability         string              `json:"imageTagMutability"`
	ImageScanningConfiguration scanningConfig      `json:"imageScanningConfiguration"`
	EncryptionConfiguration    encryptionConfig    `json:"encryptionConfiguration"`
	ExclusionFilters           []map[string]string `json:"imageTagMutabilityExclusionFilters,omitempty"`
}

type scanningConfig struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type encryptionConfig struct {
	EncryptionType string `json:"encryptionType"`
	KmsKey         string `json:"kmsKey,omitempty"`
}

func (s *Service) wireRepo(r *repository) wireRepository {
	return wireRepository{
		RepositoryArn:              fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", s.region, s.account, r.name),
		RegistryID:                 s.account,
		RepositoryName:             r.name,
		RepositoryURI:              s.hostLocked() + "/" + r.name,
		CreatedAt:                  ts(r.createdAt),
		ImageTagMutability:         r.mutability,
		ImageScanningConfiguration: scanningConfig{ScanOnPush: r.scanOnPush},
		EncryptionConfiguration:    encryptionConfig{EncryptionType: r.encryption},
	}
}

func validMutability(m string) error {
	switch m {
	case "MUTABLE", "IMMUTABLE":
		return nil
	}
	return errorf("InvalidParameterException",
		"Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE]' (the simulator does not model exclusion filters); got %q", m)
}

type createRepositoryIn struct {
	RegistryID                 *string           `json:"registryId"`
	RepositoryName             *string           `json:"repositoryName"`
	ImageTagMutability         *string           `json:"imageTagMutability"`
	ImageScanningConfiguration *scanningConfig   `json:"imageScanningConfiguration"`
	EncryptionConfiguration    *encryptionConfig `json:"encryptionConfiguration"`
}

type createRepositoryOut struct {
	Repository wireRepository `json:"repository"`
}

func (s *Service) createRepository(w http.ResponseWriter, r *http.Request) {
	handle(w, r, func(in *createRepositoryIn) (*createRepositoryOut, error) {
		if err := s.checkRegistryID(in.RegistryID); err != nil {
			return nil, err
		}
		if in.RepositoryName == nil {
			return nil, errorf("InvalidParameterException", "repositoryName must be specified")
		}
		name := *in.RepositoryName
		if err := validRepoName(name); err != nil {
			return nil, err
		}
		mut := "MUTABLE"
		if in.ImageTagMutability != nil {
			mut = *in.ImageTagMutability
			if err := validMutability(mut); err != nil {
				return nil, err
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if rep := s.repos[name]; rep != nil && !rep.mirror {
			return nil, errorf("RepositoryAlreadyExistsException",
				"The repository with name '%s' already exists in the registry with id '%s'", name, s.account)
		}
		rep := newRepository(name, s.now())
		rep.mutability = mut
		if in.ImageScanningConfiguration != nil {
			rep.scanOnPush = in.ImageScanningConfiguration.ScanOnPush
		}
		if e := in.EncryptionConfiguration; e != nil && e.EncryptionType != "" {
			rep.encryption = e.EncryptionType
		}
		s.repos[name] = rep
		return &createRepositoryOut{Repository: s.wireRepo(rep)}, nil
	})
}

type describeRepositoriesIn struct {
	RegistryID      *string  `json:"registryId"`
	RepositoryNames []string `json:"repositoryNames"`
	NextToken       *string  `json:"nextToken"`
	MaxResults      *int32   `json:"maxResults"`
}

type describeRepositoriesOut struct {
	Repositories []wireRepository `json:"repositories"`
	NextToken    *string          `json:"nextToken,omitempty"`
}

func (s *Service) describeRepositories(w http.ResponseWriter, r *http.Request) {
	handle(w, r, func(in *describeRepositoriesIn) (*describeRepositoriesOut, error) {
		if err := s.checkRegistryID(in.RegistryID); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		out := &describeRepositoriesOut{Repositories: []wireRepository{}}
		if len(in.RepositoryNames) > 0 {
			if in.MaxResults != nil || in.NextToken != nil {
				return nil, errorf("InvalidParameterException", "maxResults and nextToken cannot be used with repositoryNames")
			}
			for _, n := range in.RepositoryNames {
				rep, err := s.lookup(&n)
				if err != nil {
					return nil, err
				}
				out.Repositories = append(out.Repositories, s.wireRepo(rep))
			}
			return out, nil
		}
		var all []wireRepository
		for _, rep := range s.repos {
			if !rep.mirror {
				all = append(all, s.wireRepo(rep))
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].RepositoryName < all[j].RepositoryName })
		got, next, err := page(all, in.NextToken, in.MaxResults, 1000)
		if err != nil {
			return nil, err
		}
		out.Repositories = append(out.Repositories, got...)
		out.NextToken = next
		return out, nil
	})
}

type deleteRepositoryIn struct {
	repoRef
	Force bool `json:"force"`
}

func (s *Service) deleteRepository(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *deleteRepositoryIn, rep *repository) (*createRepositoryOut, error) {
		if len(rep.images) > 0 && !in.Force {
			return nil, errorf("RepositoryNotEmptyException",
				"The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images",
				rep.name, s.account)
		}
		out := &createRepositoryOut{Repository: s.wireRepo(rep)}
		delete(s.repos, rep.name)
		return out, nil
	})
}

type putImageTagMutabilityIn struct {
	repoRef
	ImageTagMutability *string `json:"imageTagMutability"`
}

func (in *putImageTagMutabilityIn) check() error {
	if in.ImageTagMutability == nil {
		return errorf("InvalidParameterException", "imageTagMutability must be specified")
	}
	return validMutability(*in.ImageTagMutability)
}

type putImageTagMutabilityOut struct {
	RegistryID         string `json:"registryId"`
	RepositoryName     string `json:"repositoryName"`
	ImageTagMutability string `json:"imageTagMutability"`
}

func (s *Service) putImageTagMutability(w http.ResponseWriter, r *http.Request) {
	handleRepo(s, w, r, func(in *putImageTagMutabilityIn, rep *repository) (*putImageTagMutabilityOut, error) {
		rep.mutability = *in.ImageTagMutability
		return &putImageTagMutabilityOut{RegistryID: s.account, RepositoryName: rep.name, ImageTagMutability: rep.mutability}, nil
	})
}

// CreateRepository creates a repository directly (world setup), as CreateRepository
// with the given tag mutability would. Creating an existing repository is an error.
func (s *Service) CreateRepository(name string, immutable, scanOnPush bool) error {
	if err := validRepoName(name); err != nil {
		return fmt.Errorf("creating repository %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rep := s.repos[name]; rep != nil && !rep.mirror {
		return fmt.Errorf("creating repository %q: it already exists", name)
	}
	rep := newRepository(name, s.now())
	if immutable {
		rep.mutability = "IMMUTABLE"
	}
	rep.scanOnPush = scanOnPush
	s.repos[name] = rep
	return nil
}

// Repositories returns the names of the repositories a client can see (mirrors of
// public images excluded), sorted.
func (s *Service) Repositories() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n, r := range s.repos {
		if !r.mirror {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
