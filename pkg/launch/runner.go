package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/ops"
	"github.com/consentflow/consentflow/pkg/run"
)

// Runner starts one service with an environment: Processes or Goroutines.
type Runner interface {
	start(service string, env map[string]string, dir string) (Instance, error)
}

// Instance is a started service.
type Instance interface {
	// Signal asks the service to stop: SIGTERM/SIGINT drain it, SIGKILL stops
	// it at once (a process only; a goroutine is cancelled and drains).
	Signal(sig syscall.Signal) error
	// Done is closed when the service has exited; Err is then why.
	Done() <-chan struct{}
	Err() error
	String() string
}

// Processes runs each service as a process of its binary Bin/<service>, in its
// own process group (killed with this process), with an isolated environment
// (PATH, HOME, TMPDIR and the service's variables) and its output appended to
// <dir>/logs/<service>.log.
type Processes struct {
	Bin string
}

func (p Processes) start(service string, env map[string]string, dir string) (Instance, error) {
	return StartProcess(service, filepath.Join(p.Bin, service), nil, IsolatedEnv(env), filepath.Join(dir, "logs", service+".log"))
}

// Process is a child process started by StartProcess.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts bin with args and the environment env (see IsolatedEnv) in
// its own process group, which gets SIGKILL when this process dies; stdout and
// stderr are appended to logPath.
func StartProcess(name, bin string, args, env []string, logPath string) (*Process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{Name: name, Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id (and process group id).
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error { return syscall.Kill(-p.Pid(), sig) }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited (after Done).
func (p *Process) Err() error { return p.err }

func (p *Process) String() string { return fmt.Sprintf("pid %d", p.Pid()) }

// Goroutines runs each service in this process, exactly as its binary runs it
// (run.Definition: same configuration variables, same Run function), with a
// logger of its own and a metrics registry per service.
type Goroutines struct {
	Services []run.Definition
	Logger   *zap.Logger

	mu   sync.Mutex
	regs map[string]*prometheus.Registry
}

func (g *Goroutines) start(service string, env map[string]string, _ string) (Instance, error) {
	i := slices.IndexFunc(g.Services, func(d run.Definition) bool { return d.Name == service })
	if i < 0 {
		return nil, fmt.Errorf("no definition of %s", service)
	}
	reg := ops.NewRegistry()
	g.mu.Lock()
	if g.regs == nil {
		g.regs = map[string]*prometheus.Registry{}
	}
	g.regs[service] = reg
	g.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	r := &routine{name: service, cancel: cancel, done: make(chan struct{})}
	go func() {
		err := g.Services[i].Run(ctx, env, g.Logger.With(zap.String("service", service)), reg)
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		r.err = err
		close(r.done)
	}()
	return r, nil
}

// Registry is the metrics registry of service's latest start.
func (g *Goroutines) Registry(service string) *prometheus.Registry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.regs[service]
}

// routine is a service running as a goroutine.
type routine struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *routine) Signal(syscall.Signal) error { r.cancel(); return nil }
func (r *routine) Done() <-chan struct{}       { return r.done }
func (r *routine) Err() error                  { return r.err }
func (r *routine) String() string              { return "goroutine" }
