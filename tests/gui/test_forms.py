"""The server form's inline validation and the add-server dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from switchboard.core.spec import AuthMode, Isolation, ServerSpec, StartMode, Transport
from switchboard.ui.dialogs import AddServerDialog
from switchboard.ui.serverform import ServerForm


def _fill(form: ServerForm, name: str, command: str, args: str = "") -> None:
    form.name.setText(name)
    form.command.setText(command)
    form.args.setText(args)


def test_a_new_form_asks_quietly_then_validates_inline(qtbot: QtBot) -> None:
    form = ServerForm()
    qtbot.addWidget(form)
    assert not form.valid
    assert form.error.text() == "Give the server a name and a command."
    _fill(form, "Bad Name!", "npx")
    assert not form.valid
    assert "Invalid server name 'Bad Name!'" in form.error.text()
    assert "lowercase letters" in form.error.text()  # the hint: what to do
    form.name.setText("everything")
    assert form.valid and form.error.text() == ""


def test_the_form_builds_the_spec(qtbot: QtBot) -> None:
    form = ServerForm()
    qtbot.addWidget(form)
    _fill(form, "files", "npx", "-y '@scope/server files' --root /tmp")
    form.env.add_row("LOG_LEVEL", "debug")
    form.secrets.add_row("API_TOKEN", "files.token")
    form.timeout.setValue(30)
    spec = form.spec()
    assert spec == ServerSpec(
        name="files",
        command="npx",
        args=("-y", "@scope/server files", "--root", "/tmp"),
        env={"LOG_LEVEL": "debug"},
        secrets={"API_TOKEN": "files.token"},
        request_timeout=30.0,
    )


def test_invalid_values_are_explained(qtbot: QtBot) -> None:
    form = ServerForm()
    qtbot.addWidget(form)
    _fill(form, "x", "npx", "'unclosed")
    assert not form.valid and "quote" in form.error.text()
    form.args.setText("")
    form.env.add_row("1BAD", "v")
    assert not form.valid and "Invalid environment variable name '1BAD'" in form.error.text()
    form.env.remove_selected()
    form.env.set_pairs({})
    form.revalidate()
    assert form.valid
    form.timeout.setValue(0)
    assert not form.valid and "timeout" in form.error.text().lower()
    form.timeout.setValue(60)
    form.auth.setCurrentIndex(form.auth.findData(AuthMode.EXTERNAL))
    assert not form.valid and "external issuer" in form.error.text()
    assert not form.issuer.isHidden()
    form.issuer.setText("https://login.example.com/")
    assert form.valid
    form.auth.setCurrentIndex(form.auth.findData(AuthMode.OFF))
    assert not form.auth_warning.isHidden()
    assert "web pages cannot" in form.auth_warning.text()
    assert "including any local program" in form.auth.toolTip()


def test_http_servers_need_a_url(qtbot: QtBot) -> None:
    form = ServerForm()
    qtbot.addWidget(form)
    form.name.setText("web")
    form.transport.setCurrentIndex(form.transport.findData(Transport.STREAMABLE_HTTP))
    assert form.command.isHidden() and not form.url.isHidden()
    assert not form.valid and "no URL" in form.error.text()
    form.url.setText("http://127.0.0.1:3001/mcp")
    assert form.spec().url == "http://127.0.0.1:3001/mcp"


def test_editing_an_existing_spec_round_trips_and_tracks_changes(qtbot: QtBot) -> None:
    spec = ServerSpec(
        name="gh",
        command="npx",
        args=("-y", "@modelcontextprotocol/server-github"),
        secrets={"GITHUB_TOKEN": "github.token"},
        start=StartMode.ALWAYS,
        description="GitHub",
    )
    form = ServerForm(name_editable=False)
    qtbot.addWidget(form)
    form.set_spec(spec)
    assert form.valid and form.spec() == spec and not form.is_dirty()
    assert form.name.isReadOnly()
    form.args.setText("-y @modelcontextprotocol/server-github --read-only")
    assert form.is_dirty()
    assert form.spec().autostart is True  # the start mode is kept


def test_start_mode_on_demand_shows_the_idle_minutes(qtbot: QtBot) -> None:
    """Issue 16.2: the form sets when a server runs, and its idle minutes on demand."""
    form = ServerForm()
    qtbot.addWidget(form)
    _fill(form, "time", "uvx", "mcp-server-time")
    assert form.spec().start is StartMode.MANUAL and form.sleep_after.isHidden()
    form.start_mode.setCurrentIndex(form.start_mode.findData(StartMode.ON_DEMAND))
    assert not form.sleep_after.isHidden()
    form.sleep_after.setValue(5)
    spec = form.spec()
    assert spec.start is StartMode.ON_DEMAND and spec.sleep_after == 5.0
    # Only stdio servers are started on a call: an HTTP one says so, in the form.
    form.transport.setCurrentIndex(form.transport.findData(Transport.STREAMABLE_HTTP))
    form.url.setText("http://127.0.0.1:3001/mcp")
    assert not form.valid and "only stdio servers" in form.error.text()
    edited = ServerForm()
    qtbot.addWidget(edited)
    edited.set_spec(spec)
    assert edited.spec() == spec and not edited.is_dirty()


def test_add_dialog_refuses_an_existing_name_and_returns_the_spec(qtbot: QtBot) -> None:
    dialog = AddServerDialog({"time"})
    qtbot.addWidget(dialog)
    _fill(dialog.form, "time", "uvx", "mcp-server-time")
    assert not dialog.add_button.isEnabled()
    assert "exists already" in dialog.form.error.text()
    dialog.form.name.setText("clock")
    assert dialog.add_button.isEnabled() and dialog.add_start_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.mouseClick(dialog.add_start_button, Qt.MouseButton.LeftButton)
    assert dialog.result_spec == ServerSpec(name="clock", command="uvx", args=("mcp-server-time",))
    assert dialog.start is True


def test_a_source_tab_proposes_a_spec_for_review(qtbot: QtBot) -> None:
    dialog = AddServerDialog()
    qtbot.addWidget(dialog)
    dialog.add_source(QLabel("catalog"), "Catalog")
    assert dialog.sources.tabText(0) == "Catalog" and dialog.sources.currentIndex() == 0
    dialog.propose(ServerSpec(name="time", command="uvx", args=("mcp-server-time",)))
    assert dialog.sources.currentIndex() == dialog.custom_index == 1
    assert dialog.form.command.text() == "uvx" and dialog.add_button.isEnabled()


async def test_the_catalog_tab_proposes_a_planned_server(qtbot: QtBot) -> None:
    from switchboard.catalog.catalog import Catalog
    from switchboard.catalog.plan import plan_install
    from switchboard.ui.catalogtab import CatalogTab

    def plan(entry: object) -> object:  # every runtime "installed", so the plan is stable
        return plan_install(entry, which=lambda cmd: f"/usr/bin/{cmd}")  # type: ignore[arg-type]

    dialog = AddServerDialog({"github"})
    qtbot.addWidget(dialog)
    tab = CatalogTab(load=lambda: Catalog().entries(), plan=plan)
    dialog.add_source(tab, "Catalog")
    tab.chosen.connect(dialog.propose)
    await tab.load()
    assert tab.list.count() == len(tab.entries) > 10
    tab.search.setText("github")
    assert 0 < tab.list.count() < len(tab.entries)
    assert "GitHub" in tab.list.item(0).text()
    qtbot.mouseClick(tab.use, Qt.MouseButton.LeftButton)
    assert dialog.sources.currentIndex() == dialog.custom_index
    assert dialog.form.name.text() == "github" and dialog.form.command.text()
    assert not dialog.add_button.isEnabled()  # "github" exists already
    assert "secret" in dialog.note.text().lower()
    dialog.form.name.setText("github-2")
    assert dialog.add_button.isEnabled()


def test_the_sharing_setting_round_trips_and_only_shows_for_stdio(qtbot: QtBot) -> None:
    form = ServerForm()
    qtbot.addWidget(form)
    form.set_spec(ServerSpec(name="asker", command="npx", isolation=Isolation.SERIAL))
    assert form.isolation.currentData() is Isolation.SERIAL and not form.is_dirty()
    assert "which client's request" in form.isolation.toolTip()
    form.isolation.setCurrentIndex(form.isolation.findData(Isolation.SHARED))
    assert form.is_dirty() and form.spec().isolation is Isolation.SHARED
    form.show()
    assert form.isolation.isVisible()
    form.transport.setCurrentIndex(form.transport.findData(Transport.SSE))
    assert not form.isolation.isVisible()


def test_keeping_arguments_in_activity_is_off_by_default_and_round_trips(qtbot: QtBot) -> None:
    form = ServerForm()
    qtbot.addWidget(form)
    _fill(form, "echo", "npx")
    assert not form.record_arguments.isChecked()
    assert form.spec().record_arguments is False
    form.set_spec(ServerSpec(name="kept", command="npx", record_arguments=True))
    assert form.record_arguments.isChecked() and not form.is_dirty()
    assert "redacted" in form.record_arguments.toolTip()
    form.record_arguments.setChecked(False)
    assert form.is_dirty() and form.spec().record_arguments is False
    spec = ServerSpec(name="kept", command="npx", record_arguments=True)
    assert spec.to_dict()["record_arguments"] is True
    assert "record_arguments" not in ServerSpec(name="plain", command="npx").to_dict()
    assert ServerSpec.from_dict(spec.to_dict()) == spec


async def test_the_catalog_tab_proposes_a_remote_entry_as_a_remote_server(qtbot: QtBot) -> None:
    from switchboard.catalog.model import CatalogEntry
    from switchboard.catalog.plan import plan_install
    from switchboard.ui.catalogtab import CatalogTab

    entry = CatalogEntry.from_json(
        {
            "server": {
                "name": "com.example/notes",
                "title": "Notes",
                "description": "Hosted notes.",
                "remotes": [{"type": "streamable-http", "url": "https://notes.example/mcp"}],
            }
        }
    )
    dialog = AddServerDialog(set())
    qtbot.addWidget(dialog)
    tab = CatalogTab(load=lambda: [entry], plan=lambda e: plan_install(e))
    dialog.add_source(tab, "Catalog")
    tab.chosen.connect(dialog.propose)
    await tab.load()
    qtbot.mouseClick(tab.use, Qt.MouseButton.LeftButton)
    assert dialog.sources.currentIndex() == dialog.custom_index
    assert dialog.form.url.text() == "https://notes.example/mcp"
    assert dialog.form.remote.isChecked()
    spec = dialog.form.spec()
    assert spec.remote and spec.url == "https://notes.example/mcp" and not spec.command
    assert "signin" in dialog.note.text()
    # Unticking "remote" makes it a local HTTP server (and https stays valid for that).
    dialog.form.remote.setChecked(False)
    assert not dialog.form.spec().remote
