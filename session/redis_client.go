package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// newRedisClient builds a standalone, Cluster or Sentinel client.
func newRedisClient(cfg RedisConfig) (redis.UniversalClient, error) {
	kinds := 0
	for _, set := range []bool{cfg.URL != "", len(cfg.ClusterAddrs) > 0, len(cfg.SentinelAddrs) > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, errors.New("session: set exactly one of redis_url, redis_cluster_addrs and redis_sentinel_addrs")
	}
	var tlsConf *tls.Config
	if cfg.RootCAs != nil {
		tlsConf = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	}
	switch {
	case cfg.URL != "":
		return newStandaloneClient(cfg, tlsConf)
	case len(cfg.ClusterAddrs) > 0:
		return newClusterClient(cfg, tlsConf), nil
	default:
		return newSentinelClient(cfg, tlsConf)
	}
}

// newStandaloneClient builds the client of redis_url, with the configured
// user name, password and CA in place of the URL's.
func newStandaloneClient(cfg RedisConfig, tlsConf *tls.Config) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		// The URL may hold a password: do not echo it.
		return nil, fmt.Errorf("session: redis_url: %w", err)
	}
	if opt.TLSConfig != nil && opt.TLSConfig.InsecureSkipVerify {
		return nil, errors.New("session: redis_url: skip_verify is not supported: Redis's TLS certificate is always verified")
	}
	if cfg.Username != "" {
		opt.Username = cfg.Username
	}
	if cfg.Password != "" {
		opt.Password = cfg.Password
	}
	if tlsConf != nil {
		if opt.TLSConfig == nil {
			return nil, errors.New("session: a Redis CA (redis_tls_ca_file) needs a rediss:// redis_url")
		}
		opt.TLSConfig.RootCAs = tlsConf.RootCAs
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	opt.MaxRetries, opt.DialerRetries, opt.DialerRetryTimeout = 1, redisDialRetries, redisDialRetryWait
	opt.ContextTimeoutEnabled = true
	opt.MaintNotificationsConfig = noMaintNotifications()
	return bounded(redis.NewClient(opt), opt.Password), nil
}

// newClusterClient builds the client of redis_cluster_addrs.
func newClusterClient(cfg RedisConfig, tlsConf *tls.Config) redis.UniversalClient {
	return bounded(redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: cfg.ClusterAddrs, Username: cfg.Username, Password: cfg.Password, TLSConfig: tlsConf,
		DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout, MaxRetries: 1,
		DialerRetries: redisDialRetries, DialerRetryTimeout: redisDialRetryWait, ContextTimeoutEnabled: true,
		MaintNotificationsConfig: noMaintNotifications(),
	}), cfg.Password)
}

// newSentinelClient builds the client of the master that
// redis_sentinel_addrs name redis_sentinel_master.
func newSentinelClient(cfg RedisConfig, tlsConf *tls.Config) (redis.UniversalClient, error) {
	if cfg.SentinelMaster == "" {
		return nil, errors.New("session: redis_sentinel_addrs needs redis_sentinel_master")
	}
	return bounded(redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: cfg.SentinelMaster, SentinelAddrs: cfg.SentinelAddrs,
		Username: cfg.Username, Password: cfg.Password, TLSConfig: tlsConf,
		DialTimeout: redisDialTimeout, ReadTimeout: redisIOTimeout, WriteTimeout: redisIOTimeout, MaxRetries: 1,
		DialerRetries: redisDialRetries, DialerRetryTimeout: redisDialRetryWait, ContextTimeoutEnabled: true,
	}), cfg.Password), nil
}

// noMaintNotifications turns off go-redis's maintenance notifications,
// which it asks every Redis for by default ("auto"; its Sentinel client
// has them off): a MOVING push made the client dial whatever host:port the
// push named, sign in there with the configured password and carry the
// sessions' traffic there, and a MIGRATING one stretched its timeouts to
// 10 s. Only the configured addresses (and, for a Cluster, the nodes it
// names in CLUSTER SLOTS, as any Cluster client must) are dialled.
func noMaintNotifications() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// bounded makes every call of client give up after redisCallTimeout
// (callBound) and keeps password out of its errors (redacted). Its options
// must set ContextTimeoutEnabled: without it go-redis reads and writes
// under its own timeouts only, and a deadline of the caller's (readyz's, a
// refresh's) cut nothing short. One hook does both: the autopipeliner
// builds the hook chain for each command, one allocation per hook.
func bounded[C redis.UniversalClient](client C, password string) C {
	client.AddHook(callBound{password})
	return client
}

// callBound is a go-redis hook that gives each command and pipeline a
// deadline of redisCallTimeout from its start, around go-redis's retry: a
// timed-out call is then not sent again (nor waited for again), and no
// caller waits on a Redis that stopped answering for longer than that.
// It also takes the password out of the errors (redactedErrors).
type callBound struct{ password string }

func (callBound) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h callBound) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !boundedAlready(ctx) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, redisCallTimeout)
			defer cancel()
		}
		err := next(ctx, cmd)
		if err == nil && cmd.Err() == nil {
			return nil
		}
		return h.redactedErrors(err, cmd)
	}
}

func (h callBound) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !boundedAlready(ctx) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, redisCallTimeout)
			defer cancel()
		}
		if err := next(ctx, cmds); err != nil {
			return h.redactedErrors(err, cmds...)
		}
		return nil // every command succeeded: no error to look at
	}
}

// boundedAlready reports whether ctx ends within redisCallTimeout anyway.
func boundedAlready(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) <= redisCallTimeout
}

// autoPipeline returns client's autopipeliner (closed with the client), or
// client itself should it have none.
func autoPipeline(client redis.UniversalClient) redis.Cmdable {
	if ap, err := client.AutoPipeline(); err == nil {
		return ap
	}
	return client
}
