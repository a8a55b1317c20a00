"""The flow engine: call state + caller input → the next step. No Flask, SQL or XML here."""

from __future__ import annotations

from ivr.flows.definition import Flow
from ivr.flows.nodes.base import Context, Goto, Result, Wait
from ivr.flows.steps import CallerInput, Hangup, Prompt, Step

#: Hops without caller input in one step; validation forbids input-less loops, this
#: guards flows that slipped past it (e.g. plug-in nodes that jump conditionally).
MAX_HOPS = 50


class FlowRuntimeError(Exception):
    """A flow misbehaved at run time (e.g. a node jumped to an unknown target)."""


def start_flow(ctx: Context) -> Step:
    """Enter the flow's start node."""
    return _follow(ctx, Goto(ctx.flow.start))


def resume_flow(ctx: Context, data: CallerInput) -> Step:
    """Give the caller's input to the node the call waits at and follow the result."""
    node = _node(ctx.flow, ctx.state.node)
    if (data.digits or data.speech) and node.masks_input:
        ctx.log(
            "input",
            node=node.id,
            digits_length=len(data.digits or ""),
            speech_length=len(data.speech or ""),
            masked=True,
        )
    elif data.digits or data.speech:
        ctx.log("input", node=node.id, digits=data.digits, speech=data.speech, confidence=data.confidence)
    return _follow(ctx, node.handle(ctx, data))


def _follow(ctx: Context, result: Result) -> Step:
    prompts: list[Prompt] = []
    for _hop in range(MAX_HOPS):
        prompts.extend(result.prompts)
        if isinstance(result, Wait):
            return Step(prompts=prompts, verb=result.verb, language=ctx.state.language)
        node = _node(ctx.flow, result.target)
        ctx.state.node = node.id
        ctx.log("node", node=node.id, type=node.kind)
        result = node.enter(ctx)
    ctx.log("error", reason=f"more than {MAX_HOPS} steps without caller input")
    return Step(prompts=prompts, verb=Hangup(), language=ctx.state.language)


def _node(flow: Flow, node_id: str):  # type: ignore[no-untyped-def]
    try:
        return flow.nodes[node_id]
    except KeyError:
        raise FlowRuntimeError(f"flow '{flow.name}' has no node '{node_id}'") from None
