"""The built-in demo: a research-assistant plan run on simulated tools.

Twelve calls on four simulated servers with uneven latencies, the way an LLM
planner would emit them: three searches, page and paper fetches, summaries, a
report and a notification. Each of the first three layers holds one slow call
(1 s), each on a different branch: the layered run waits for all three in
turn, the eager one overlaps them.
"""

from __future__ import annotations

from typing import Any

import trio

from dagexec import LocalTools

#: Seconds each simulated tool call takes (at speed 1).
LATENCY: dict[str, float] = {
    "web_search": 0.3,
    "arxiv_search": 1.0,
    "news_search": 0.3,
    "fetch_pdf": 0.3,
    "summarize": 0.4,
    "summarize_long": 1.0,
    "extract_entities": 0.3,
    "draft_report": 0.5,
    "send": 0.1,
}

#: Seconds each simulated page takes to fetch: one slow site, one fast.
PAGES: dict[str, float] = {"https://example.org/trio": 1.0, "https://example.org/nurseries": 0.2}

DEMO_WORKFLOW: dict[str, Any] = {
    "tasks": [
        {"id": "web", "tool": "search:web_search", "arguments": {"query": "structured concurrency"}},
        {"id": "arxiv", "tool": "search:arxiv_search", "arguments": {"query": "DAG scheduling"}},
        {"id": "news", "tool": "search:news_search", "arguments": {"query": "tool-calling agents"}},
        {"id": "page1", "tool": "fetch:fetch_page", "arguments": {"url": "$OUTPUT[web].urls.0"}},
        {"id": "page2", "tool": "fetch:fetch_page", "arguments": {"url": "$OUTPUT[web].urls.1"}},
        {"id": "paper", "tool": "fetch:fetch_pdf", "arguments": {"id": "$OUTPUT[arxiv].papers.0.id"}},
        {"id": "sum1", "tool": "llm:summarize", "arguments": {"text": "$OUTPUT[page1].text"}},
        {
            "id": "sum2",
            "tool": "llm:summarize",
            "arguments": {"text": "$OUTPUT[page2].text", "detail": "long"},
        },
        {"id": "sum3", "tool": "llm:summarize", "arguments": {"text": "$OUTPUT[paper].text"}},
        {"id": "entities", "tool": "llm:extract_entities", "arguments": {"text": "$OUTPUT[news]"}},
        {
            "id": "report",
            "tool": "llm:draft_report",
            "arguments": {
                "sections": ["$OUTPUT[sum1]", "$OUTPUT[sum2]", "$OUTPUT[sum3]"],
                "entities": "$OUTPUT[entities].names",
            },
        },
        {
            "id": "notify",
            "tool": "notify:send",
            "arguments": {"to": "team", "message": "Report ready: $OUTPUT[report].title"},
        },
    ]
}


def demo_servers(speed: float = 1.0) -> dict[str, LocalTools]:
    """Simulated servers for :data:`DEMO_WORKFLOW`, ``speed`` times faster than real."""

    async def wait(seconds: float) -> None:
        await trio.sleep(seconds / speed)

    async def web_search(query: str) -> dict[str, Any]:
        await wait(LATENCY["web_search"])
        return {"query": query, "urls": list(PAGES)}

    async def arxiv_search(query: str) -> dict[str, Any]:
        await wait(LATENCY["arxiv_search"])
        return {"query": query, "papers": [{"id": "2401.00001", "title": "Eager DAG dispatch"}]}

    async def news_search(query: str) -> list[str]:
        await wait(LATENCY["news_search"])
        return [f"{query}: trio 1.0 released", f"{query}: MCP servers everywhere"]

    async def fetch_page(url: str) -> dict[str, str]:
        await wait(PAGES[url])
        return {"url": url, "text": f"the text of {url}"}

    async def fetch_pdf(id: str) -> dict[str, str]:
        await wait(LATENCY["fetch_pdf"])
        return {"id": id, "text": f"the text of paper {id}"}

    async def summarize(text: str, detail: str = "short") -> str:
        await wait(LATENCY["summarize_long" if detail == "long" else "summarize"])
        return f"{detail} summary of {text}"

    async def extract_entities(text: str | list[str]) -> dict[str, list[str]]:
        await wait(LATENCY["extract_entities"])
        return {"names": ["trio", "MCP"]}

    async def draft_report(sections: list[str], entities: list[str]) -> dict[str, Any]:
        await wait(LATENCY["draft_report"])
        return {"title": f"{len(sections)} sources on {', '.join(entities)}", "body": sections}

    async def send(to: str, message: str) -> dict[str, str]:
        await wait(LATENCY["send"])
        return {"sent_to": to, "message": message}

    return {
        "search": LocalTools(
            {"web_search": web_search, "arxiv_search": arxiv_search, "news_search": news_search}
        ),
        "fetch": LocalTools({"fetch_page": fetch_page, "fetch_pdf": fetch_pdf}),
        "llm": LocalTools(
            {"summarize": summarize, "extract_entities": extract_entities, "draft_report": draft_report}
        ),
        "notify": LocalTools({"send": send}),
    }
