package sim

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// mountState tracks who holds one exclusive EFS mount (file system + access
// point) and the most holders seen at one instant.
type mountState struct {
	holders    map[string]*task
	maxHolders int
	conflicts  int
}

// mountKeys returns "fs-id/fsap-id" for every EFS volume of the task that
// goes through an access point: those are the Nexus-like data directories.
func mountKeys(t *task) []string {
	var keys []string
	for _, v := range t.def.def.Volumes {
		efs := v.EfsVolumeConfiguration
		if efs == nil || efs.AuthorizationConfig == nil || aws.ToString(efs.AuthorizationConfig.AccessPointId) == "" {
			continue
		}
		keys = append(keys, aws.ToString(efs.FileSystemId)+"/"+aws.ToString(efs.AuthorizationConfig.AccessPointId))
	}
	return keys
}

// acquireMounts takes the task's exclusive mounts as its containers start.
// When another task already holds one, the container mounting it exits 1
// shortly after start, the way Nexus does when it finds nexus-data/lock held.
func (w *World) acquireMounts(t *task, now time.Time) {
	if !w.exclusive {
		return
	}
	for _, key := range mountKeys(t) {
		m := w.mounts[key]
		if m == nil {
			m = &mountState{holders: map[string]*task{}}
			w.mounts[key] = m
		}
		var other *task
		for _, h := range m.holders {
			if other == nil || h.createdAt.Before(other.createdAt) || h.createdAt.Equal(other.createdAt) && h.id < other.id {
				other = h
			}
		}
		m.holders[t.id] = t
		t.mountKeys = append(t.mountKeys, key)
		m.maxHolders = max(m.maxHolders, len(m.holders))
		if other == nil {
			continue
		}
		m.conflicts++
		// Nexus logs that the data directory's lock is held and exits 1: an
		// ordinary process exit, for which ECS gives the container no reason.
		// Who held it is recorded here (MountHolders), not in the task.
		name, _ := t.containerMounting(key)
		w.scheduleCrash(t, name, 1, "", now.Add(w.timing.ConflictExit))
	}
}

// containerMounting returns the essential container that mounts the volume
// behind key, and where (the first essential container when none does).
func (t *task) containerMounting(key string) (name, path string) {
	for _, v := range t.def.def.Volumes {
		efs := v.EfsVolumeConfiguration
		if efs == nil || efs.AuthorizationConfig == nil {
			continue
		}
		if aws.ToString(efs.FileSystemId)+"/"+aws.ToString(efs.AuthorizationConfig.AccessPointId) != key {
			continue
		}
		for _, cd := range t.def.def.ContainerDefinitions {
			for _, mp := range cd.MountPoints {
				if aws.ToString(mp.SourceVolume) == aws.ToString(v.Name) && aws.ToBool(cd.Essential) {
					return aws.ToString(cd.Name), aws.ToString(mp.ContainerPath)
				}
			}
		}
	}
	for _, c := range t.containers {
		if c.essential {
			return c.name, "/data"
		}
	}
	return "", "/data"
}

func (w *World) releaseMounts(t *task, _ time.Time) {
	for _, key := range t.mountKeys {
		if m := w.mounts[key]; m != nil {
			delete(m.holders, t.id)
		}
	}
	t.mountKeys = nil
}

// MountStats is what the exclusive-mount recorder saw for one mount.
type MountStats struct {
	Key        string // "fs-id/fsap-id"
	Holders    int    // tasks holding it now
	MaxHolders int    // most tasks that held it at the same moment
	Conflicts  int    // tasks that found it already held
}

// MountHolders reports every exclusive mount the recorder has seen, sorted by key.
func (w *World) MountHolders() []MountStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []MountStats
	for _, k := range sortedKeys(w.mounts) {
		m := w.mounts[k]
		out = append(out, MountStats{Key: k, Holders: len(m.holders), MaxHolders: m.maxHolders, Conflicts: m.conflicts})
	}
	return out
}

// MaxMountHolders returns the most tasks that held any exclusive mount at once.
func (w *World) MaxMountHolders() int {
	n := 0
	for _, m := range w.MountHolders() {
		n = max(n, m.MaxHolders)
	}
	return n
}
