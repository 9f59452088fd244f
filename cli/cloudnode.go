package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kyojin/kyojin/cloud"
)

// cloudNode is what one `kyojin cloud serve --role` process runs (issue 8
// §4): with a bus, intake nodes receive and publish to NATS JetStream and
// worker nodes consume, parse, detect and store; `all` does both in one
// process. Without a bus only `all` exists: the embedded path.
type cloudNode struct {
	cfg     *cloud.Config
	bus     *cloud.BusConn
	listens bool // runs the listeners
	worker  bool // parses, detects and stores
}

// openCloudNode loads the configuration, connects the bus if there is one
// and opens the event store on nodes that store (not on intake nodes).
func openCloudNode(env *Env, config, role string) (*cloudNode, cloud.EventStore, *cloud.Config, error) {
	cfg, err := loadCloudConfig(env, config)
	if err != nil {
		return nil, nil, nil, err
	}
	n := &cloudNode{cfg: cfg}
	switch role {
	case "all":
		n.listens, n.worker = true, true
	case "intake":
		n.listens = true
	case "worker":
		n.worker = true
	default:
		return nil, nil, nil, usageError("--role は intake, worker, all のいずれかです (got %q)", role)
	}
	if cfg.Bus == nil && role != "all" {
		return nil, nil, nil, usageError("--role %s には設定の bus（NATS JetStream）が必要です", role)
	}
	if cfg.Bus != nil {
		host, _ := os.Hostname()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if n.bus, err = cloud.ConnectBus(ctx, cfg, fmt.Sprintf("kyojin %s %s", role, host), env.Log); err != nil {
			return nil, nil, nil, err
		}
		fmt.Fprintf(env.Stderr, "bus: %s stream %s (role %s)\n", cfg.Bus.URL, cfg.Bus.Stream, role)
	}
	if !n.listens {
		cfg.Listeners = nil // a worker node takes its lines from the bus only
	}
	if !n.worker {
		return n, nil, cfg, nil
	}
	st, err := cfg.OpenStore()
	if err != nil {
		n.close()
		return nil, nil, nil, err
	}
	return n, st, cfg, nil
}

// attach connects in to the bus: its submissions are published (intake)
// and the tenants' consumers feed its workers (worker).
func (n *cloudNode) attach(ctx context.Context, in *cloud.Intake) error {
	if n.bus == nil {
		return nil
	}
	if n.listens {
		n.bus.Publish(in)
	}
	if n.worker {
		return n.bus.Consume(ctx, in)
	}
	return nil
}

// serveIntakeOnly runs an intake node: listeners into the bus, no store.
func (n *cloudNode) serveIntakeOnly(env *Env) error {
	in := cloud.NewIntake(n.cfg, nil, env.Log)
	ctx, stop := serveContext()
	defer stop()
	_ = n.attach(ctx, in)
	srv := cloud.NewServer(n.cfg, in)
	if err := srv.Start(ctx); err != nil {
		stop()
		srv.Wait()
		return err
	}
	for _, l := range n.cfg.Listeners {
		env.Log.Info("cloud: listening", "listener", l.Name, "type", l.Type, "addr", srv.Addr(l.Name).String())
		fmt.Fprintf(env.Stderr, "受信中 / listening: %s %s %s\n", l.Name, l.Type, srv.Addr(l.Name))
	}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			logStats(env, in)
		}
	}
	srv.Wait()
	n.close() // outstanding publishes first, then the figures
	logStats(env, in)
	return nil
}

func (n *cloudNode) stopConsuming() {
	if n.bus != nil {
		n.bus.StopConsuming()
	}
}

// close flushes outstanding publishes and disconnects (once).
func (n *cloudNode) close() {
	if n.bus != nil {
		_ = n.bus.Close()
		n.bus = nil
	}
}
