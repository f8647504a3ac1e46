"""Headless Chromium for the browser tests: Debian's build driven by Playwright (which never downloads one)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXPECT_MS = 8000
"""Bound on waiting for something to show in a page (ms)."""


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """One headless Chromium, closed afterwards; a missing browser fails the test and says what to install."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


PHONE_SIZE: ViewportSize = {"width": 390, "height": 844}
"""The phone the screenshot tests hold (an iPhone 12–15's CSS viewport)."""
LAPTOP_SIZE: ViewportSize = {"width": 1280, "height": 800}
MIN_TARGET_PX = 44
"""Smallest height of a button a finger can hit (WCAG 2.5.5, Apple's guideline)."""

_LAYOUT_PROBLEMS_JS = """
(minTarget) => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  const name = (el) => {
    const id = el.id ? '#' + el.id : '';
    const cls = el.classList.length ? '.' + Array.from(el.classList).join('.') : '';
    const text = (el.innerText || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    return `<${el.tagName.toLowerCase()}${id}${cls}> "${text}"`;
  };
  if (document.documentElement.scrollWidth > width + 1) {
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${width} px window`);
  }
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not rendered (display:none, empty)
    if (box.right > width + 1 || box.left < -1) {
      problems.push(`${name(el)} reaches ${Math.round(box.left)}..${Math.round(box.right)} px of ${width}`);
    }
  }
  if (minTarget > 0) {
    for (const el of document.body.querySelectorAll('button, a.button, input[type=submit]')) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      if (box.height < minTarget - 0.5) problems.push(`${name(el)} is ${box.height.toFixed(1)} px high`);
    }
  }
  return problems;
}
"""


def layout_problems(page: Page, *, min_target_px: int = 0) -> list[str]:
    """What does not fit the window: elements past its right or left edge, and buttons lower than
    ``min_target_px`` (0: not checked). Empty when the page fits."""
    problems: list[str] = page.evaluate(_LAYOUT_PROBLEMS_JS, min_target_px)
    return problems
