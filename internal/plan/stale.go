package plan

import (
	"fmt"
	"slices"
)

// Stale compares a saved plan with one freshly computed from the same files
// and the live state, and returns why the saved plan no longer describes what
// deploy would do. Nil means the saved plan may be applied.
func Stale(saved, fresh *Plan) []string {
	var why []string
	if saved.FormatVersion != FormatVersion {
		return []string{fmt.Sprintf("the plan has format version %d, this pier reads %d: run pier plan again", saved.FormatVersion, FormatVersion)}
	}
	images := map[string]Image{}
	for _, im := range fresh.Images {
		images[im.Name] = im
	}
	for _, im := range saved.Images {
		f, ok := images[im.Name]
		switch {
		case !ok:
			why = append(why, fmt.Sprintf("image %s is no longer in %s", im.Name, fresh.File))
		case f.Digest != im.Digest:
			why = append(why, fmt.Sprintf("image %s now builds %s, the plan has %s", im.Name, f.Digest, im.Digest))
		}
	}
	// What deploy would do beyond the plan is as stale as what changed: a
	// plan of one service must not approve a deploy of all of them.
	planned := map[string]bool{}
	for _, im := range saved.Images {
		planned["image "+im.Name] = true
	}
	for _, s := range saved.Services {
		planned["service "+s.Name] = true
	}
	for _, im := range fresh.Images {
		if !planned["image "+im.Name] {
			why = append(why, fmt.Sprintf("image %s would be pushed but is not in the plan (plan the same services you deploy)", im.Name))
		}
	}
	for _, s := range fresh.Services {
		if !planned["service "+s.Name] {
			why = append(why, fmt.Sprintf("service %s would be deployed but is not in the plan (plan the same services you deploy)", s.Name))
		}
	}
	for _, s := range saved.Services {
		f, ok := fresh.Service(s.Name)
		if !ok {
			why = append(why, fmt.Sprintf("service %s is no longer in %s", s.Name, fresh.File))
			continue
		}
		if f.DesiredDigest != s.DesiredDigest {
			why = append(why, fmt.Sprintf("service %s: the desired task definition changed since the plan (pier.yaml, the task-definition file or an image)", s.Name))
		}
		o, n := s.Observed, f.Observed
		if o.TaskDefinition != n.TaskDefinition {
			why = append(why, fmt.Sprintf("service %s: the live task definition is now %s, the plan saw %s", s.Name, n.TaskDefinition, o.TaskDefinition))
		}
		if o.DesiredCount != n.DesiredCount {
			why = append(why, fmt.Sprintf("service %s: the live desired count is now %d, the plan saw %d", s.Name, n.DesiredCount, o.DesiredCount))
		}
		if !slices.Equal(o.Deployments, n.Deployments) {
			why = append(why, fmt.Sprintf("service %s: deployments changed since the plan (now %v, the plan saw %v)", s.Name, n.Deployments, o.Deployments))
		}
	}
	return why
}
