package load

import (
	"time"
)

// Idle measures the server's memory before and after cfg.Conns idle
// connections, per connection.
func Idle(cfg Config) (map[string]float64, error) {
	base, err := GetMem(cfg.Debug)
	if err != nil {
		return nil, err
	}
	conns, err := dialMany(cfg.Addr, cfg.Path, cfg.Conns, 512)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns)
	time.Sleep(cfg.Settle)
	after, err := GetMem(cfg.Debug)
	if err != nil {
		return nil, err
	}
	n := float64(cfg.Conns)
	kib := func(a, b int64) float64 { return float64(a-b) / n / 1024 }
	return map[string]float64{
		"rss_per_conn_kib":        kib(after.RSSFree, base.RSSFree),
		"rss_gc_per_conn_kib":     kib(after.RSSGC, base.RSSGC),
		"heap_stack_per_conn_kib": kib(after.HeapInuse+after.StackInuse, base.HeapInuse+base.StackInuse),
		"heap_per_conn_kib":       kib(after.HeapInuse, base.HeapInuse),
		"stack_per_conn_kib":      kib(after.StackInuse, base.StackInuse),
		"goroutines_per_conn":     float64(after.Goroutines-base.Goroutines) / n,
		"rss_base_mib":            float64(base.RSSFree) / (1 << 20),
	}, nil
}
