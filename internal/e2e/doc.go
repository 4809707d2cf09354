// Package e2e drives the example programs' HTML pages in a real headless
// Chromium with chromedp. It has tests only; see README.md.
package e2e
