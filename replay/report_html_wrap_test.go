package replay_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/apitape/apitape/replay"
)

// TestHTMLFieldColumnWrapsAtSegments renders a report whose field paths are
// long, in headless Chromium on a narrow page, and checks where the
// browser broke each field cell's lines: only between path segments, never
// inside a key (issue 15: the field column wrapped mid-word, CSS
// word-break: break-all).
func TestHTMLFieldColumnWrapsAtSegments(t *testing.T) {
	exe, err := chromium.Find()
	if err != nil {
		testtool.Missing(t, "%v", err)
	}
	res := goldenResult(t)
	long := []string{
		"$.rancherKubernetesEngineConfig.services.kubeApi.serviceNodePortRange",
		"$.spec.rkeConfig.machinePools[0].machineConfigRef.apiVersion",
		"header:Strict-Transport-Security",
	}
	for _, c := range res.Calls {
		if len(c.Differences) > 0 {
			for i := range c.Differences {
				c.Differences[i].Path = long[i%len(long)] + strings.Repeat(".nestedKeyName", i%3)
			}
		}
	}
	var b bytes.Buffer
	if err := replay.WriteHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.AllocatorOptions(exe, "", true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(480, 900), chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	// For every character of every field cell, the top of its box: a line
	// break between two characters of the same text node that are both
	// part of a word is a break inside a key. <wbr> splits text nodes, so
	// breaks there are between nodes.
	const probe = `(() => {
	  const bad = [], wrapped = [];
	  for (const td of document.querySelectorAll("td.path")) {
	    const w = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
	    let lines = new Set();
	    for (let n = w.nextNode(); n; n = w.nextNode()) {
	      let prev = null;
	      for (let i = 0; i < n.data.length; i++) {
	        const r = document.createRange();
	        r.setStart(n, i); r.setEnd(n, i + 1);
	        const rect = r.getClientRects()[0];
	        if (!rect) continue;
	        lines.add(Math.round(rect.top));
	        if (prev !== null && Math.round(rect.top) > prev.top + 2 && /\w/.test(prev.ch) && /\w/.test(n.data[i])) {
	          bad.push(td.textContent + " broken between " + prev.ch + " and " + n.data[i]);
	        }
	        prev = {top: Math.round(rect.top), ch: n.data[i]};
	      }
	    }
	    if (lines.size > 1) wrapped.push(td.textContent);
	  }
	  return JSON.stringify({bad, wrapped});
	})()`
	out, err := chromedp.Run(bctx, chromedp.Evaluate[string](probe))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("field cells: %s", out)
	if !strings.Contains(out, `"wrapped":["`) {
		t.Error("no field cell wrapped at this width: the test shows nothing")
	}
	if strings.Contains(out, `"bad":["`) {
		t.Errorf("field cells broken inside a word: %s", out)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err == nil {
		shot := filepath.Join(os.TempDir(), "apitape-replay-report-narrow.png")
		if os.WriteFile(shot, png, 0o644) == nil {
			t.Logf("screenshot: %s", shot)
		}
	}
}
