package report

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart size in points (PNG at 96 dpi: about 853×427 pixels).
const (
	chartWidth  = 8 * vg.Inch
	chartHeight = 4 * vg.Inch
)

// chartPNG draws the weekly questions asked vs answered as grouped bars.
func chartPNG(tag string, weeks []Week) ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("[%s]: questions asked and answered per week", tag)
	p.Y.Label.Text = "questions"
	p.Y.Min = 0
	asked, answered := make(plotter.Values, len(weeks)), make(plotter.Values, len(weeks))
	labels := make([]string, len(weeks))
	top := 1.0
	for i, w := range weeks {
		asked[i], answered[i] = float64(w.Asked), float64(w.Answered)
		labels[i] = w.Start.Format("Jan 2")
		top = max(top, float64(w.Asked))
	}
	p.Y.Max = top * 1.15
	width := vg.Points(min(30, 360/float64(max(len(weeks), 1))))
	ba, err := plotter.NewBarChart(asked, width)
	if err != nil {
		return nil, err
	}
	ba.Color, ba.LineStyle.Width, ba.Offset = color.RGBA{R: 0xf4, G: 0x80, B: 0x24, A: 0xff}, 0, -width/2
	bn, err := plotter.NewBarChart(answered, width)
	if err != nil {
		return nil, err
	}
	bn.Color, bn.LineStyle.Width, bn.Offset = color.RGBA{R: 0x2f, G: 0x6f, B: 0xb3, A: 0xff}, 0, width/2
	p.Add(ba, bn)
	p.Legend.Add("asked", ba)
	p.Legend.Add("answered", bn)
	p.Legend.Top = true
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.7, float64(len(weeks))-0.3 // room for the outer bars
	wt, err := p.WriterTo(chartWidth, chartHeight, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
