"""The MCP conformance suite's authorization-server scenarios against our issuer:
``npx @modelcontextprotocol/conformance@0.2.0-alpha.12 authorization --url <issuer>``.

Its two scenarios: ``authorization-server-metadata-endpoint`` (RFC 8414 metadata, S256,
issuer, CIMD support) and ``authorization-code-grant`` (PKCE S256 code flow with
``state``, ``iss`` and ``resource``; ``Cache-Control: no-store`` token response). The
second prints the authorization URL and waits for the browser to land on its callback:
this test plays the browser and approves through the consent broker.

The 0.2.0 pre-release imports ``fs.globSync`` (Node >= 22) at module load although the
authorization scenarios never call it; on Node 20 (Debian's and these machines') a
module-load hook supplies a stub for that one import so the suite can start.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from pathlib import Path

import httpx
import pytest

from switchboard.core.spec import ServerSpec
from switchboard.engine import Engine
from tests.conftest import fixture_cmd, requires_npx
from tests.helpers.oauth_flow import approve_on_page

pytestmark = [requires_npx, pytest.mark.npm, pytest.mark.timeout(300)]

PACKAGE = "@modelcontextprotocol/conformance@0.2.0-alpha.12"

# Rewrites only the conformance bundle's `globSync` import (absent before Node 22).
SHIM_HOOKS = """
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22 && url.includes("@modelcontextprotocol/conformance/dist/") && result.source) {
    const src = String(result.source);
    if (src.includes("globSync as ")) {
      const fixed = src.replace(/globSync as ([A-Za-z_$][\\w$]*),/, (m, name) => {
        globalThis.__sbGlobName = name;
        return "";
      });
      const stub = `const ${globalThis.__sbGlobName}=()=>{throw new Error("fs.globSync needs Node 22")};`;
      const cut = fixed.startsWith("#!") ? fixed.indexOf("\\n") + 1 : 0;
      return { ...result, source: fixed.slice(0, cut) + stub + fixed.slice(cut) };
    }
  }
  return result;
}
"""
SHIM_REGISTER = """
import { register } from "node:module";
register("./hooks.mjs", import.meta.url);
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_conformance_authorization_scenarios(engine: Engine, tmp_path: Path) -> None:
    cmd, args = fixture_cmd("echo_server.py")
    await engine.add_server(ServerSpec(name="echo", command=cmd, args=args))
    resource = engine.server_url("echo")
    issuer = engine.base_url
    port = free_port()
    callback = f"http://127.0.0.1:{port}/callback"
    (tmp_path / "hooks.mjs").write_text(SHIM_HOOKS)
    (tmp_path / "register.mjs").write_text(SHIM_REGISTER)
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        reg = await http.post(
            f"{issuer}/oauth/register",
            json={"client_name": "conformance", "redirect_uris": [callback]},
        )
        assert reg.status_code == 201
        client_id = reg.json()["client_id"]
        env = dict(os.environ)
        env["NODE_OPTIONS"] = f"--import {(tmp_path / 'register.mjs').as_uri()}"
        env["npm_config_yes"] = "true"
        proc = await asyncio.create_subprocess_exec(
            "npx",
            "-y",
            PACKAGE,
            "authorization",
            "--url",
            issuer,
            "--client-id",
            client_id,
            "--resource",
            resource,
            "--port",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
        assert proc.stdout is not None
        output: list[str] = []
        approved = False
        try:
            async with asyncio.timeout(240):
                while True:
                    raw = await proc.stdout.readline()
                    if not raw:
                        break
                    line = raw.decode(errors="replace").rstrip()
                    output.append(line)
                    if not approved and line.startswith(f"{issuer}/oauth/authorize?"):
                        approved = True
                        await _play_browser(engine, http, line)
                await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    text = "\n".join(output)
    print(text)  # the suite's own report, shown with -rP
    assert approved, text
    assert proc.returncode == 0, text
    assert re.search(r"authorization-server-metadata-endpoint: \d+ passed, 0 failed", text), text
    assert re.search(r"authorization-code-grant: 1 passed, 0 failed", text), text
    total = re.search(r"Total: (\d+) passed, 0 failed", text)
    assert total and int(total.group(1)) >= 3, text


async def _play_browser(engine: Engine, http: httpx.AsyncClient, url: str) -> None:
    page = await http.get(url)
    assert page.status_code == 200, page.text
    location = await approve_on_page(http, engine, page)
    landed = await http.get(location)  # the suite's callback server
    assert landed.status_code == 200, landed.text
