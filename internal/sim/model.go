package sim

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// cluster is one ECS cluster with everything that lives in it.
type cluster struct {
	name, arn    string
	status       string
	createdAt    time.Time
	tags         []ecstypes.Tag
	instances    []*instance
	services     map[string]*service
	serviceOrder []string
	tasks        map[string]*task // by task id
	taskList     []*task          // in launch order
}

func (c *cluster) activeServices() int32 {
	var n int32
	for _, s := range c.services {
		if s.status == "ACTIVE" {
			n++
		}
	}
	return n
}

// pruneStopped forgets tasks that stopped longer ago than keep, like ECS
// does after about an hour.
func (c *cluster) pruneStopped(now time.Time, keep time.Duration) {
	if keep <= 0 {
		return
	}
	kept := c.taskList[:0]
	for _, t := range c.taskList {
		if t.lastStatus == statusStopped && now.Sub(t.stoppedAt) > keep {
			delete(c.tasks, t.id)
			if t.deployment != nil {
				delete(t.deployment.tasks, t.id)
			}
			continue
		}
		kept = append(kept, t)
	}
	for i := len(kept); i < len(c.taskList); i++ {
		c.taskList[i] = nil
	}
	c.taskList = kept
}

// instance is an EC2 container instance.
type instance struct {
	id, arn      string // id is the uuid at the end of the ARN
	ec2ID        string
	status       string
	cpu, memory  int32
	reservedPort []int32 // ports the agent and OS hold (22, 2375, 2376, 51678, 51679)
	registeredAt time.Time
	attributes   []ecstypes.Attribute
	az           string
	tasks        map[string]*task // placed and not yet STOPPED
}

func (i *instance) usedCPU() (cpu, mem int32) {
	for _, t := range i.tasks {
		cpu += t.cpu
		mem += t.memory
	}
	return cpu, mem
}

// dynamicPortsUsed counts the host ports in the ephemeral range in use.
func (i *instance) dynamicPortsUsed() int {
	n := 0
	for _, t := range i.tasks {
		for _, c := range t.containers {
			for _, b := range c.bindings {
				if p := aws.ToInt32(b.HostPort); p >= dynamicPortLow && p <= dynamicPortHigh {
					n++
				}
			}
		}
	}
	return n
}

func (i *instance) portInUse(p int32) bool {
	for _, r := range i.reservedPort {
		if r == p {
			return true
		}
	}
	for _, t := range i.tasks {
		for _, c := range t.containers {
			for _, b := range c.bindings {
				if b.HostPort != nil && *b.HostPort == p {
					return true
				}
			}
		}
	}
	return false
}

// family is a task definition family with its revisions (index = revision-1).
type family struct {
	name      string
	revisions []*taskDef
}

// taskDef is one registered revision.
type taskDef struct {
	def     ecstypes.TaskDefinition
	tags    []ecstypes.Tag
	cpu     int32 // units the task reserves (task-level cpu, else the containers' sum)
	memory  int32 // MiB the task reserves
	deleted bool  // DELETE_IN_PROGRESS: gone from every list
}

func (td *taskDef) arn() string { return *td.def.TaskDefinitionArn }

// service is an ECS service.
type service struct {
	name, arn     string
	cluster       *cluster
	status        string // ACTIVE, DRAINING, INACTIVE
	desired       int32
	taskDef       string // ARN
	launchType    ecstypes.LaunchType
	config        ecstypes.DeploymentConfiguration
	loadBalancers []ecstypes.LoadBalancer
	network       *ecstypes.NetworkConfiguration
	gracePeriod   *int32
	createdAt     time.Time
	deletedAt     time.Time
	tags          []ecstypes.Tag
	enableExec    bool
	propagateTags ecstypes.PropagateTags
	deployments   []*deployment // PRIMARY first, then ACTIVE newest first
	history       []*deployment // every deployment, oldest first, for the service-deployment APIs
	events        []ecstypes.ServiceEvent

	maxLive int        // most tasks PROVISIONING..RUNNING at once (the recreate invariant)
	batch   eventBatch // target events of this scheduler pass, printed together

	consecutiveFailures int
	nextLaunch          time.Time // launches are throttled after repeated failures
}

func (s *service) primary() *deployment {
	if len(s.deployments) == 0 {
		return nil
	}
	return s.deployments[0]
}

// deployment is one ECS deployment of a service (a task set, in ECS terms).
type deployment struct {
	id            string
	arn           string // service deployment ARN
	revisionArn   string // service revision ARN
	status        string // PRIMARY, ACTIVE, INACTIVE
	taskDef       string
	desired       int32
	failedTasks   int32
	createdAt     time.Time
	updatedAt     time.Time
	finishedAt    time.Time
	rollout       ecstypes.DeploymentRolloutState
	rolloutReason string
	launchType    ecstypes.LaunchType
	network       *ecstypes.NetworkConfiguration
	config        ecstypes.DeploymentConfiguration
	loadBalancers []ecstypes.LoadBalancer
	// sdStatus is the service-deployment status (ListServiceDeployments).
	sdStatus   ecstypes.ServiceDeploymentStatus
	sdReason   string
	source     []*deployment // deployments this one replaced
	rollbackTo *deployment   // set on the deployment the circuit breaker rolled back from
	rolledBack bool          // this deployment was started by a rollback
	tasks      map[string]*task
}

// Task and container states.
const (
	statusProvisioning   = "PROVISIONING"
	statusPending        = "PENDING"
	statusActivating     = "ACTIVATING"
	statusRunning        = "RUNNING"
	statusDeactivating   = "DEACTIVATING"
	statusStopping       = "STOPPING"
	statusDeprovisioning = "DEPROVISIONING"
	statusStopped        = "STOPPED"
)

// task is one ECS task.
type task struct {
	id, arn     string
	cluster     *cluster
	service     *service    // nil for RunTask tasks
	deployment  *deployment // nil for RunTask tasks
	def         *taskDef
	instance    *instance // nil on Fargate
	launchType  ecstypes.LaunchType
	group       string
	startedBy   string
	cpu, memory int32
	eniIP       string // awsvpc: the task's private address
	subnet      string // awsvpc: the subnet of its network interface
	az          string

	lastStatus, desiredStatus string
	createdAt, pullStartedAt  time.Time
	pullStoppedAt, startedAt  time.Time
	stoppingAt, stoppedAt     time.Time
	execStoppedAt             time.Time
	connectivityAt            time.Time
	next                      time.Time // when the current state ends
	stopCode                  ecstypes.TaskStopCode
	stoppedReason             string
	failed                    bool // counts against the deployment (circuit breaker)
	reachedHealthy            bool // has reset the circuit breaker's failure count
	health                    ecstypes.HealthStatus
	healthyAt                 time.Time // container health checks pass from here (zero: never)
	unhealthyAt               time.Time // container health checks fail from here
	mountKeys                 []string
	targets                   []*target
	version                   int64

	containers []*container
}

// container is one container of a task.
type container struct {
	name, arn, image string
	digest           string
	essential        bool
	lastStatus       string
	exitCode         *int32
	reason           string
	bindings         []ecstypes.NetworkBinding
	health           ecstypes.HealthStatus
	runtimeID        string
	cpu              int32
	memory           *int32
	memoryRes        *int32
	hasHealthCheck   bool
	behavior         ImageBehavior
	exitAt           time.Time // the container exits by itself at this instant (zero: it does not)
	exitWith         int32     // its exit code then
	exitReason       string    // the reason ECS gives then ("" for an ordinary process exit)
}

// target is a task's registration in one target group.
type target struct {
	tgArn      string
	id         string
	port       int32
	container  string
	cport      int32
	state      string // unregistered, initial, healthy, unhealthy, draining, unused
	healthyAt  time.Time
	failAt     time.Time // turns unhealthy at this instant (unhealthy images)
	failCode   string    // ELBv2's reason code then (Target.Timeout, …)
	failDesc   string    // and its description, which ECS quotes in its event
	registered time.Time
	checking   bool      // past registration: Elb.InitialHealthChecking
	retryAt    time.Time // unregistered (RegisterTargets failed): try again then
	drainUntil time.Time
}

func (t *task) active() bool { return t.desiredStatus == statusRunning }
