"""The pictures in the page, in headless Chromium: the model's graph beside the table (one
node per leaf row, a click on a node selects its card and table row), and the convolution
drawn for the selected conv/pool row (hovering an output cell moves the window)."""

from __future__ import annotations

from .test_browser import open_page


def test_graph_and_conv_picture(page, live_server, artifacts) -> None:
    open_page(page, live_server.url)
    page.wait_for_selector("#graph svg")
    nodes = page.locator("#graph g.n[data-row]")
    leaves = page.locator("#flow-body > tr.row:not(.block)").count()
    assert nodes.count() == leaves  # the seed: every leaf row is a node
    pool = page.locator("#graph g.n[data-row]", has_text="pool").first
    pool.scroll_into_view_if_needed()
    pool.click()
    assert page.locator("#flow-body tr.linked").count() >= 1
    assert page.locator(".card.linked").count() == 1
    assert "linked" in (pool.get_attribute("class") or "")
    assert "pool" in page.locator("#conv .conv-title").inner_text()
    caption = page.locator("#conv .cp-caption")
    before = caption.inner_text()
    page.locator("#conv rect.cp-outcell").nth(5).hover()
    after = caption.inner_text()
    assert before != after and "(0, 5)" in after
    assert page.locator("#conv rect.cp-win").count() == 4  # a 2x2 window
    assert page.locator("#conv rect.cp-rf").count() > 0  # its receptive field in the model's input
    page.locator("#picture").screenshot(path=str(artifacts / "graph_and_conv.png"))
    # and back: a click on a table row marks its node in the graph
    conv2 = page.locator('#flow-body > tr.row[data-qual="resblock1.conv2"]')
    conv2.scroll_into_view_if_needed()
    conv2.click()
    node = page.locator("#graph g.n.linked")
    assert node.count() == 1 and "conv2" in node.text_content()
    assert "resblock1.conv2" in page.locator("#conv .conv-title").inner_text()
    # Korean: the graph and the picture are redrawn in the page's language
    page.locator("#lang-toggle button[data-lang=ko]").click()
    page.wait_for_function("() => document.querySelector('#graph svg') && document.querySelector('#graph').textContent.includes('입력')")
    assert "출력" in page.locator("#conv").inner_text()


def test_a_slider_moves_the_picture(page, live_server) -> None:
    open_page(page, live_server.url)
    page.wait_for_selector("#conv .cp-caption")
    pool = page.locator("#graph g.n[data-row]", has_text="pool").first
    pool.scroll_into_view_if_needed()
    pool.click()  # selects the pool's card: its sliders show
    card = page.locator('.card[data-type="MaxPool2d"]').first
    assert "linked" in (card.get_attribute("class") or "")
    card.locator('input.arg-slider[aria-label="kernel_size slider"]').fill("3")
    page.wait_for_function("() => document.querySelector('#conv .conv-title').textContent.startsWith('pool')"
                           " && document.querySelector('#conv .cp-caption').textContent.includes('k=3×3')")
    assert card.locator('input[data-arg="kernel_size"]').input_value() == "3"
    assert page.locator("#conv rect.cp-win").count() == 9  # the 3x3 window
    assert "pool" in page.locator("#conv .conv-title").inner_text()
