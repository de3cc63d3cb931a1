package replay_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/apitape/apitape/replay"
)

// externalRef finds anything an HTML page would load from elsewhere.
var externalRef = regexp.MustCompile(`(?i)<(script|link|img|iframe)\b|\bsrc=|@import|url\(|href="(https?:)?//`)

// TestHTMLReportInChromium renders the HTML report of a replay against the
// demo's rename-field variant in headless Chromium, checks that the
// differing field is shown (in the table and in the side-by-side bodies,
// on the live side as added), and saves a screenshot.
func TestHTMLReportInChromium(t *testing.T) {
	exe, err := chromium.Find()
	if err != nil {
		testtool.Missing(t, "%v", err)
	}
	entries := recordDemoBrowserSession(t, startDemo(t, "").URL)
	res := replayDemo(t, entries, demo.VariantRenameField)
	var b bytes.Buffer
	if err := replay.WriteHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	if m := externalRef.FindString(b.String()); m != "" {
		t.Errorf("the report loads something from elsewhere: %q", m)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.AllocatorOptions(exe, "", true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil || !strings.HasPrefix(title, "apitape replay") {
		t.Errorf("title %q, %v", title, err)
	}
	summary, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#summary")))
	if err != nil || !strings.Contains(summary, "4 failed") || !strings.Contains(summary, "2 passed") {
		t.Errorf("summary %q, %v", summary, err)
	}
	fields, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#call-2 table.diffs")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"$.rancherKubernetesEngineConfig.k8sVersion", "extra", "$.rancherKubernetesEngineConfig.kubernetesVersion", "missing", `"v1.30.8-rancher1-1"`} {
		if !strings.Contains(fields, want) {
			t.Errorf("differences table of call 2 lacks %q:\n%s", want, fields)
		}
	}
	added, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll("#call-2 .sbs .row.added .r")).map(e => e.textContent).join("\n")`))
	if err != nil || !strings.Contains(added, `"k8sVersion": "v1.30.8-rancher1-1"`) {
		t.Errorf("side by side: live-only rows %q, %v", added, err)
	}
	removed, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll("#call-2 .sbs .row.removed .l")).map(e => e.textContent).join("\n")`))
	if err != nil || !strings.Contains(removed, `"kubernetesVersion": "v1.30.8-rancher1-1"`) {
		t.Errorf("side by side: recorded-only rows %q, %v", removed, err)
	}
	// The added row is painted green: the CSS applied.
	bg, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector("#call-2 .sbs .row.added .r")).backgroundColor`))
	if err != nil || bg != "rgb(172, 238, 187)" {
		t.Errorf("added row background %q, %v", bg, err)
	}
	for name, action := range map[string]chromedp.Action[[]byte]{
		"apitape-replay-report.png":     chromedp.FullScreenshot(100), // quality 100: PNG
		"apitape-replay-report-top.png": chromedp.CaptureScreenshot(),
	} {
		png, err := chromedp.Run(bctx, action)
		if err != nil {
			t.Fatal(err)
		}
		shot := filepath.Join(os.TempDir(), name)
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	}
}
