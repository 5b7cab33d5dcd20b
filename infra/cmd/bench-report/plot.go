package main

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
)

// Plot size: plotWidth wide, plotHeight high, or taller when there are many categories.
const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 3.5 * vg.Inch
)

// palette colours the series of a chart, in order.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
}

// series is one set of bars: a value per category (NaN: none).
type series struct {
	Name   string
	Values []float64
}

// hbarChart draws horizontal bars, one group per category (the first category at the top),
// one bar per series in a group, each labelled with format(value), and saves a PNG at path.
func hbarChart(path, title, xLabel string, categories []string, ss []series, format func(float64) string) error {
	if len(categories) == 0 || len(ss) == 0 {
		return fmt.Errorf("%s: nothing to plot", path)
	}
	n := len(categories)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.X.Min = 0
	grid := plotter.NewGrid()
	grid.Horizontal.Color = nil // vertical lines only, behind the bars
	p.Add(grid)

	// Categories from the top: the plot's y axis grows upwards, so category i sits at n-1-i.
	// The leading spaces keep the longest name off the image's left edge, which the tick
	// label measurement misses by a pixel or two.
	names := make([]string, n)
	for i, c := range categories {
		names[n-1-i] = "  " + c
	}
	// Bars 9 to 28 points thick (the plot grows taller for many), labels up to 9 points.
	barWidth := vg.Length(math.Max(9, math.Min(28/float64(len(ss)), 200/float64(n*len(ss)))))
	groupWidth := barWidth * vg.Length(len(ss))
	maxV := 0.0
	for si, s := range ss {
		vals := make(plotter.Values, n)
		var xys plotter.XYs
		var labels []string
		for i := range n {
			v := s.Values[i]
			y := float64(n - 1 - i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				vals[n-1-i] = 0
				xys = append(xys, plotter.XY{X: 0, Y: y})
				labels = append(labels, "n/a")
				continue
			}
			vals[n-1-i] = v
			maxV = math.Max(maxV, v)
			xys = append(xys, plotter.XY{X: v, Y: y})
			labels = append(labels, format(v))
		}
		bars, err := plotter.NewBarChart(vals, barWidth)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		bars.Horizontal = true
		bars.Color = palette[si%len(palette)]
		bars.LineStyle.Width = 0
		// Bars of a group top-down in series order.
		offset := groupWidth/2 - barWidth/2 - vg.Length(si)*barWidth
		bars.Offset = offset
		p.Add(bars)
		if len(ss) > 1 {
			p.Legend.Add(s.Name, bars)
		}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i := range lab.TextStyle {
			lab.TextStyle[i].YAlign = text.YCenter
			lab.TextStyle[i].Font.Size = vg.Points(math.Min(9, float64(barWidth)*0.85))
		}
		lab.Offset = vg.Point{X: 3, Y: offset}
		p.Add(lab)
	}
	if maxV == 0 {
		maxV = 1
	}
	p.X.Max = maxV * 1.3 // room for the value labels
	if len(ss) > 1 {
		p.X.Max = maxV * 1.6 // and for the legend
	}
	p.NominalY(names...)
	if len(ss) > 1 {
		p.Legend.Top = false
		p.Legend.Left = false
		p.Legend.TextStyle.Font.Size = vg.Points(10)
	}
	h := max(plotHeight, vg.Length(n)*(groupWidth+6)+1.4*vg.Inch)
	return p.Save(plotWidth, h, path)
}
