package orch

import (
	"fmt"
	"html"
	"math"
	"strings"
)

var colors = map[string]string{
	"wsapi-bare":  "#af7aa1",
	"wsapi-func":  "#9c755f",
	"gorilla":     "#4e79a7",
	"coder":       "#f28e2b",
	"gws":         "#59a14f",
	"gobwas-http": "#e15759",
	"gobwas-zc":   "#ff9da7",
	"gobwas":      "#e15759", // the name of gobwas-http in reports before it had two forms
	"epoll":       "#76b7b2",
}

type svgGroup struct{ scenario, metric, cell, label string }

type svgPanel struct {
	title, note string
	groups      []svgGroup
}

func (rep *Report) panels() []svgPanel {
	var ps []svgPanel
	short := map[string]string{}
	for _, cell := range rep.Cells["echo"] {
		short[cell] = strings.NewReplacer(" text", "", " binary", "", " × ", "×").Replace(cell)
	}
	for _, m := range []struct{ key, title string }{
		{"msgs_per_cpu_s", "Echo: messages per server-CPU-second"},
		{"msgs_per_s", "Echo: messages per second (wall)"},
	} {
		p := svgPanel{title: m.title, note: "peer ÷ wsapi — above 1: the peer does better"}
		for _, cell := range rep.Cells["echo"] {
			p.groups = append(p.groups, svgGroup{"echo", m.key, cell, short[cell]})
		}
		ps = append(ps, p)
	}
	p := svgPanel{title: "Typed messages, idle (RSS, heap+stacks), broadcast and handshake", note: "peer ÷ wsapi — rates: above 1 the peer does better; memory: above 1 the peer uses more"}
	for _, cell := range rep.Cells["idle"] {
		p.groups = append(p.groups,
			svgGroup{"idle", "rss_per_conn_kib", cell, "idle RSS/conn"},
			svgGroup{"idle", "heap_stack_per_conn_kib", cell, "idle heap+stk/conn"})
	}
	for _, cell := range rep.Cells["typed"] {
		p.groups = append(p.groups, svgGroup{"typed", "msgs_per_cpu_s", cell, "typed " + strings.Fields(cell)[0] + " per CPU-s"})
	}
	for _, cell := range rep.Cells["bcast"] {
		p.groups = append(p.groups,
			svgGroup{"bcast", "deliveries_per_cpu_s", cell, "bcast per CPU-s"},
			svgGroup{"bcast", "deliveries_per_s", cell, "bcast per s"})
	}
	for _, cell := range rep.Cells["burst"] {
		p.groups = append(p.groups, svgGroup{"burst", "deliveries_per_cpu_s", cell, "burst per CPU-s"})
	}
	for _, cell := range rep.Cells["hs"] {
		p.groups = append(p.groups,
			svgGroup{"hs", "conns_per_cpu_s", cell, "handshake per CPU-s"},
			svgGroup{"hs", "conns_per_s", cell, "handshake per s"})
	}
	if len(p.groups) > 0 {
		ps = append(ps, p)
	}
	var out []svgPanel
	for _, p := range ps {
		if len(p.groups) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// SVG draws the ratios to wsapi as grouped bars on a log scale, one panel
// per family of figures.
func (rep *Report) SVG() string {
	const (
		width    = 1000
		left     = 60
		right    = 20
		plotH    = 230
		titleH   = 44
		labelH   = 34
		panelGap = 16
	)
	panels := rep.panels()
	var legend []string
	for _, p := range panels {
		for _, g := range p.groups {
			for _, c := range rep.Contenders[g.scenario] {
				if c != "wsapi" && !containsStr(legend, c) {
					legend = append(legend, c)
				}
			}
		}
	}
	panelH := titleH + plotH + labelH
	height := 40 + len(panels)*(panelH+panelGap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">wsapi benchmark: each peer's median ratio to wsapi (log scale; 1 = wsapi)</text>`+"\n", left)
	lx := left
	for _, c := range legend {
		fmt.Fprintf(&b, `<rect x="%d" y="30" width="10" height="10" fill="%s"/><text x="%d" y="39">%s</text>`+"\n", lx, colors[c], lx+14, html.EscapeString(c))
		lx += 24 + 7*len(c)
	}
	y0 := 48
	for _, p := range panels {
		lo, hi := rep.panelRange(p)
		top := y0 + titleH
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", left, y0+18, html.EscapeString(p.title))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", left, y0+34, html.EscapeString(p.note))
		yOf := func(r float64) float64 {
			f := (math.Log2(r) - math.Log2(lo)) / (math.Log2(hi) - math.Log2(lo))
			return float64(top) + float64(plotH)*(1-f)
		}
		for v := lo; v <= hi*1.0001; v *= 2 {
			y := yOf(v)
			stroke, sw := "#ddd", 1.0
			if v == 1 {
				stroke, sw = "#333", 1.5
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="%.1f"/>`+"\n", left, y, width-right, y, stroke, sw)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", left-6, y+4, ratioLabel(v))
		}
		gw := float64(width-left-right) / float64(len(p.groups))
		for gi, g := range p.groups {
			gx := float64(left) + gw*float64(gi)
			var cs []string
			for _, c := range rep.Contenders[g.scenario] {
				if c != "wsapi" {
					cs = append(cs, c)
				}
			}
			bw := math.Min(28, (gw-16)/float64(max(len(cs), 1)))
			x := gx + (gw-bw*float64(len(cs)))/2
			for _, c := range cs {
				if r, ok := rep.Ratio(g.scenario, g.cell, g.metric, c, "wsapi"); ok && r > 0 {
					rc := math.Min(math.Max(r, lo), hi)
					y1, y2 := yOf(1), yOf(rc)
					ty := y2 - 3
					if y2 > y1 {
						y1, y2 = y2, y1
						ty = y1 + 11
					}
					fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s, %s: %.2f× wsapi</title></rect>`+"\n",
						x, y2, bw-2, math.Max(y1-y2, 1), colors[c], html.EscapeString(c), html.EscapeString(g.cell), g.metric, r)
					fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="9">%.2f</text>`+"\n", x+(bw-2)/2, ty, r)
				}
				x += bw
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", gx+gw/2, top+plotH+18, html.EscapeString(g.label))
			if gi > 0 {
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`+"\n", gx, top, gx, top+plotH)
			}
		}
		y0 += panelH + panelGap
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// panelRange returns the powers of two around a panel's extreme ratios,
// at least 1/2 to 2 and at most 1/64 to 64.
func (rep *Report) panelRange(p svgPanel) (lo, hi float64) {
	lo, hi = 0.5, 2.0
	for _, g := range p.groups {
		for _, c := range rep.Contenders[g.scenario] {
			if c == "wsapi" {
				continue
			}
			if r, ok := rep.Ratio(g.scenario, g.cell, g.metric, c, "wsapi"); ok && r > 0 {
				lo, hi = math.Min(lo, r), math.Max(hi, r)
			}
		}
	}
	lo = math.Pow(2, math.Floor(math.Log2(math.Max(lo, 1.0/64))))
	hi = math.Pow(2, math.Ceil(math.Log2(math.Min(hi, 64))))
	return lo, hi
}

func ratioLabel(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%g×", v)
	}
	return fmt.Sprintf("1/%g", 1/v)
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
