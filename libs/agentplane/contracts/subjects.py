"""Every NATS subject agentplane uses. Nobody writes a subject string anywhere else."""

from __future__ import annotations

PREFIX = "ap"

# Every process the launcher runs beside the gateway (each answers `ping`); the edge is the
# data plane of tunnels (DESIGN §2).
SERVICES = (
    "registry",
    "heartbeat",
    "messaging",
    "diagnostics",
    "lifecycle",
    "webhooks",
    "edge",
)


def ping(service: str) -> str:
    """Request/reply readiness probe each service answers."""
    return f"{PREFIX}.{service}.ping"


class Registry:
    """Request/reply subjects of the registry service (queue group `registry`)."""

    WORKSPACE_CREATE = f"{PREFIX}.registry.workspace.create"
    WORKSPACE_AUTHENTICATE = f"{PREFIX}.registry.workspace.authenticate"
    AGENT_PROVISION = f"{PREFIX}.registry.agent.provision"
    AGENT_REGISTER = f"{PREFIX}.registry.agent.register"
    AGENT_AUTHENTICATE = f"{PREFIX}.registry.agent.authenticate"
    AGENT_LIST = f"{PREFIX}.registry.agent.list"
    # ListAgentSummaries → AgentSummaryList: the same pages, four fields per agent.
    AGENT_SUMMARIES = f"{PREFIX}.registry.agent.summaries"
    # ListOnlineAgents → OnlineAgentPage: a page of summaries, only the online agents kept.
    AGENT_ONLINE = f"{PREFIX}.registry.agent.online"
    AGENT_GET = f"{PREFIX}.registry.agent.get"
    AGENT_ROTATE_TOKEN = f"{PREFIX}.registry.agent.rotate_token"
    AGENT_REPLACE_CAPABILITIES = f"{PREFIX}.registry.agent.replace_capabilities"
    AGENT_FIND_BY_CAPABILITY = f"{PREFIX}.registry.agent.find_by_capability"
    AGENT_EXPIRING_TOKENS = f"{PREFIX}.registry.agent.expiring_tokens"
    ENROLLMENT_TOKEN_ISSUE = f"{PREFIX}.registry.enrollment_token.issue"
    DEVICE_ENROLL = f"{PREFIX}.registry.device.enroll"
    DEVICE_AUTHENTICATE = f"{PREFIX}.registry.device.authenticate"
    DEVICE_HEARTBEAT_SYNC = f"{PREFIX}.registry.device.heartbeat_sync"
    DEVICE_KEY_ROTATE = f"{PREFIX}.registry.device.key_rotate"
    RELEASE_PUBLISH = f"{PREFIX}.registry.release.publish"
    RELEASE_FIND_UPDATE = f"{PREFIX}.registry.release.find_update"
    PAP_AGENT_CREATE = f"{PREFIX}.registry.pap_agent.create"
    PAP_AGENT_LIST = f"{PREFIX}.registry.pap_agent.list"
    PAP_AGENT_GET = f"{PREFIX}.registry.pap_agent.get"
    # GetPapAgent → PapAgentDetails of the agent a heartbeat or metrics report names; conflict
    # when it is terminated.
    PAP_AGENT_REPORTING = f"{PREFIX}.registry.pap_agent.reporting"
    PAP_AGENT_TERMINATE = f"{PREFIX}.registry.pap_agent.terminate"
    ORCHESTRATOR_REGISTER = f"{PREFIX}.registry.orchestrator.register"
    ORCHESTRATOR_AUTHENTICATE_TOKEN = f"{PREFIX}.registry.orchestrator.authenticate_token"
    ORCHESTRATOR_AUTHENTICATE_CERT = f"{PREFIX}.registry.orchestrator.authenticate_cert"
    ORCHESTRATOR_UPDATE = f"{PREFIX}.registry.orchestrator.update"
    ORCHESTRATOR_DELETE = f"{PREFIX}.registry.orchestrator.delete"
    ORCHESTRATOR_RENEW_CERT = f"{PREFIX}.registry.orchestrator.renew_cert"
    ORCHESTRATOR_HEARTBEAT_SYNC = f"{PREFIX}.registry.orchestrator.heartbeat_sync"
    # contracts/orchestrator_views.py: ListOrchestratorAgents → OrchestratorAgentPage,
    # GetOrchestratorAgent → OrchestratorAgentView (status derived with the heartbeat service).
    ORCHESTRATOR_LIST = f"{PREFIX}.registry.orchestrator.list"
    ORCHESTRATOR_GET = f"{PREFIX}.registry.orchestrator.get"
    # AdmitChannelAgent → ChannelAdmission: the same checks as the NATS auth callout.
    CHANNEL_ADMIT = f"{PREFIX}.registry.channel.admit"
    # AgentDialectQuery → AgentDialect (services only).
    AGENT_DIALECT = f"{PREFIX}.registry.agent.dialect"
    # The service catalog (contracts/services.py).
    SERVICE_REGISTER = f"{PREFIX}.registry.service.register"
    SERVICE_CREATE_EXTERNAL = f"{PREFIX}.registry.service.create_external"
    SERVICE_GET = f"{PREFIX}.registry.service.get"
    SERVICE_LIST = f"{PREFIX}.registry.service.list"
    SERVICE_RENAME = f"{PREFIX}.registry.service.rename"
    SERVICE_DELETE = f"{PREFIX}.registry.service.delete"
    SERVICE_SET_SUBDOMAIN = f"{PREFIX}.registry.service.set_subdomain"
    SERVICE_CHECK_SUBDOMAIN = f"{PREFIX}.registry.service.check_subdomain"


class Heartbeat:
    """Subjects of the heartbeat service (queue group `heartbeat`)."""

    BEAT = f"{PREFIX}.heartbeat.beat"
    LIVENESS_QUERY = f"{PREFIX}.heartbeat.liveness.query"
    # A beat of an agent the caller (a gateway dialect) already authenticated: RecordBeat.
    RECORD = f"{PREFIX}.heartbeat.record"
    # Each replica answers with its own HeartbeatStats (no queue group).
    STATS = f"{PREFIX}.heartbeat.stats"
    TELEMETRY_RECENT = f"{PREFIX}.heartbeat.telemetry.recent"
    # RecordTelemetry → TelemetryRecorded: reports the gateway takes (seed 004 metrics).
    TELEMETRY_RECORD = f"{PREFIX}.heartbeat.telemetry.record"
    # Answered only when AGENTPLANE_HEARTBEAT_BENCH is set (memory benchmark).
    BENCH_FILL = f"{PREFIX}.heartbeat.bench.fill"
    # NATS-native heartbeats (contracts/liveness.py, NativeBeat): agents publish
    # `ap.hb.<agent_id>`; the owner of the agent's partition listens on `ap.hb.<p>.*`.
    NATIVE_ANY = f"{PREFIX}.hb.*"

    @staticmethod
    def native(agent_id: str) -> str:
        """Where an agent publishes its heartbeats; any replica routes them to the owner."""
        return f"{PREFIX}.hb.{agent_id}"

    @staticmethod
    def partitioned(partition: int, agent_id: str = "*") -> str:
        """The subject of one partition (`partition_of` in contracts/liveness.py)."""
        return f"{PREFIX}.hb.{partition}.{agent_id}"

    @staticmethod
    def liveness_query_of(partition: int) -> str:
        """Liveness of agents of one partition, answered by its owner."""
        return f"{PREFIX}.heartbeat.liveness.query.{partition}"

    @staticmethod
    def record_of(partition: int) -> str:
        """RecordBeat for an agent of one partition, answered by its owner."""
        return f"{PREFIX}.heartbeat.record.{partition}"


class Telemetry:
    """Heartbeat bodies and metrics: `ap.telemetry.<kind>.<agent_id>` (AP_TELEMETRY stream)."""

    ALL = f"{PREFIX}.telemetry.>"
    HEARTBEAT = "heartbeat"
    METRICS = "metrics"

    @staticmethod
    def subject(kind: str, agent_id: str) -> str:
        return f"{PREFIX}.telemetry.{kind}.{agent_id}"


class Diagnostics:
    """Subjects of the diagnostics service (queue group `diagnostics`)."""

    # ServiceHealthQuery → ServiceHealthReport (contracts/service_health.py).
    HEALTH = f"{PREFIX}.diagnostics.health"
    # contracts/diagnostics.py: RunCheck → CheckAnswer, HistoryQuery → DiagnosticList,
    # RunReach → ReachAnswer, SessionsQuery → SessionList.
    CHECK = f"{PREFIX}.diagnostics.check"
    HISTORY = f"{PREFIX}.diagnostics.history"
    REACH = f"{PREFIX}.diagnostics.reach"
    SESSIONS = f"{PREFIX}.diagnostics.sessions"
    # SchedulerStatsQuery → SchedulerStats (the replica that runs the periodic checks).
    SCHEDULER_STATS = f"{PREFIX}.diagnostics.scheduler.stats"


class Lifecycle:
    """Subjects of the lifecycle service (queue group `lifecycle`)."""

    AUDIT_LIST = f"{PREFIX}.lifecycle.audit.list"
    # AgentStatesQuery → AgentStates (contracts/agent_states.py): the state machine's view.
    AGENT_STATES = f"{PREFIX}.lifecycle.agent.states"
    # ProvisionAgent / DrainAgent → ProvisionerReport (contracts/agent_states.py).
    AGENT_PROVISION = f"{PREFIX}.lifecycle.agent.provision"
    AGENT_DRAIN = f"{PREFIX}.lifecycle.agent.drain"


class Webhooks:
    """Subjects of the webhooks service (queue group `webhooks`): contracts/webhooks.py."""

    CREATE = f"{PREFIX}.webhooks.create"
    LIST = f"{PREFIX}.webhooks.list"
    DELETE = f"{PREFIX}.webhooks.delete"
    DELIVERIES = f"{PREFIX}.webhooks.deliveries"


class Events:
    """Integration events: `ap.events.<app>.<topic>`, captured by the AP_EVENTS stream."""

    ALL = f"{PREFIX}.events.>"
    DEAD_LETTER = f"{PREFIX}.deadletter"
    # RedriveDeadLetter → Reply: a consumer's replicas (queue group = durable name) run a
    # parked message through the consumer's handler again (`agentplane events redrive`).
    REDRIVE = f"{PREFIX}.redrive"

    @staticmethod
    def dead_letter_of(durable: str) -> str:
        """Where messages a durable consumer gave up on are parked (AP_DEADLETTER stream)."""
        return f"{PREFIX}.deadletter.{durable}"

    @staticmethod
    def durable_of_dead_letter(subject: str) -> str:
        return subject.removeprefix(f"{PREFIX}.deadletter.")

    @staticmethod
    def redrive(durable: str) -> str:
        return f"{PREFIX}.redrive.{durable}"

    @staticmethod
    def of_app(app: str) -> str:
        return f"{PREFIX}.events.{app}.>"

    @staticmethod
    def subject(app: str, topic: str) -> str:
        return f"{PREFIX}.events.{app}.{topic}"


class AgentChannel:
    """The agent channel (DESIGN §7): subjects an authenticated agent may use, and no others.

    hub → agent: requests on `ap.inbox.<agent_id>` carrying a `HubMessage`; the agent's reply
    is its acknowledgement (`ChannelAck`). agent → hub: `ap.agent.<agent_id>.<kind>`.
    NATS permissions (auth callout) grant an agent publish on `ap.agent.<id>.>`, subscribe on
    `ap.inbox.<id>` and its own reply inbox `_INBOX_<id>.>`, and replies to what it received.
    """

    # agent → hub kinds (the last token of `ap.agent.<id>.<kind>`)
    HELLO = "hello"  # request: AgentHello → ChannelWelcome; (re)sends everything pending
    HEARTBEAT = "hb"  # request: ChannelBeat → BeatAccepted
    RESULT = "result"  # publish: CommandResult
    TASK_PROGRESS = "task.progress"  # publish
    TASK_LOG = "task.log"  # publish
    TASK_RESULT = "task.result"  # publish
    REACH_RESULT = "reach.result"  # publish

    @staticmethod
    def inbox(agent_id: str) -> str:
        """Where the hub sends an agent its `HubMessage`s (only that agent may subscribe)."""
        return f"{PREFIX}.inbox.{agent_id}"

    @staticmethod
    def from_agent(agent_id: str, kind: str) -> str:
        """Where an agent publishes messages of `kind` (only that agent may publish)."""
        return f"{AgentChannel.publish_prefix(agent_id)}.{kind}"

    @staticmethod
    def publish_prefix(agent_id: str) -> str:
        """Everything an agent may publish starts with this (`<prefix>.<kind>`)."""
        return f"{PREFIX}.agent.{agent_id}"

    @staticmethod
    def from_any_agent(kind: str) -> str:
        """What a hub service subscribes to for `kind` from every agent."""
        return f"{PREFIX}.agent.*.{kind}"

    @staticmethod
    def agent_of(subject: str) -> str:
        """The agent id of an `ap.agent.<id>.…` subject (its identity: NATS enforced it)."""
        return subject.split(".", 3)[2]

    @staticmethod
    def reply_inbox_prefix(agent_id: str) -> str:
        """The agent's own reply inbox prefix (`nats.connect(inbox_prefix=…)`)."""
        return f"_INBOX_{agent_id}"

    # NATS auth callout (answered by the registry) and system requests.
    AUTH_CALLOUT = "$SYS.REQ.USER.AUTH"
    CONNZ = "$SYS.REQ.SERVER.PING.CONNZ"

    @staticmethod
    def kick(server_id: str) -> str:
        return f"$SYS.REQ.SERVER.{server_id}.KICK"


class Messaging:
    """Subjects of the messaging service (queue group `messaging`)."""

    COMMAND_SEND = f"{PREFIX}.messaging.command.send"
    COMMAND_GET = f"{PREFIX}.messaging.command.get"
    COMMAND_LIST = f"{PREFIX}.messaging.command.list"
    COMMAND_CANCEL = f"{PREFIX}.messaging.command.cancel"
    MESSAGE_SEND = f"{PREFIX}.messaging.message.send"
    MESSAGE_BROADCAST = f"{PREFIX}.messaging.message.broadcast"
    MESSAGE_LIST = f"{PREFIX}.messaging.message.list"
    MESSAGE_READ = f"{PREFIX}.messaging.message.read"
    # Tasks (contracts/tasks.py): the operator's, then the assigned agent's.
    TASK_CREATE = f"{PREFIX}.messaging.task.create"
    TASK_GET = f"{PREFIX}.messaging.task.get"
    TASK_LIST = f"{PREFIX}.messaging.task.list"
    TASK_CANCEL = f"{PREFIX}.messaging.task.cancel"
    TASK_CLAIM = f"{PREFIX}.messaging.task.claim"
    TASK_PROGRESS = f"{PREFIX}.messaging.task.progress"
    TASK_LOG = f"{PREFIX}.messaging.task.log"
    TASK_COMPLETE = f"{PREFIX}.messaging.task.complete"

    @staticmethod
    def task_notices(agent_id: str) -> str:
        """`TaskNotice`s for an agent's open task streams (plain publish, no content)."""
        return f"{PREFIX}.messaging.task.notice.{agent_id}"


class Gateway:
    """Subjects gateway replicas share among themselves (plain publish, no queue group)."""

    # RateHits: what one replica admitted since its last batch, so every replica counts it.
    RATE_HITS = f"{PREFIX}.gateway.rate.hits"
