"""What ``rabbitmqctl`` has no command for, done with ``rabbitmqctl eval`` and the server's own functions.

rabbitmqctl cannot delete an exchange or a binding. The management plugin does both over an internal AMQP
channel, which a node without it does not offer. So these run as Erlang expressions on the node
(``rabbitmqctl eval``, the expression read from stdin):

- exchange delete: ``rabbit_exchange:delete(Name, false, User)``, what ``exchange.delete`` calls;
- binding delete: the bindings between the source and the destination are listed
  (``rabbit_binding:list_for_source_and_destination``), the ones whose routing key and arguments match are
  removed with ``rabbit_binding:remove``, what ``queue.unbind`` / ``exchange.unbind`` call. Arguments are
  compared after ``rabbit_misc:amqp_table``, which drops AMQP field types: a binding declared by a client
  with a 32-bit integer matches the same number read back from the definitions export;
- many queue deletes at once: ``rabbit_amqqueue:lookup/1`` and ``rabbit_amqqueue:delete/4``, which is what
  ``rabbitmqctl delete_queue`` itself calls, batched into one call (``rabbitmqctl delete_queue`` takes one
  queue per call). A spec with ``"if_empty": true`` passes ``IfEmpty`` to the server, which answers
  ``{error, not_empty}`` (outcome ``not_empty``) for a queue that holds ready messages at that moment;
  ``"if_unused": true`` passes ``IfUnused``, answered ``{error, in_use}`` (outcome ``in_use``) for a queue
  with a consumer (3.10.8 and 4.0.5). A quorum queue answers the flag with a ``protocol_error``, so the
  expression passes it only to a classic queue (``amqqueue:get_type/1``).

The risk: these are internal functions, not a public API, and may change between RabbitMQ versions
(they exist with these arities from 3.8 on; checked here on 3.10.8). Each expression
first checks that every function it calls is exported with the expected arity and otherwise returns
``{missing_functions, [...]}`` without doing anything; ``CtlBackend.unsupported`` runs the same check at plan
time, so an incompatible server is reported before anything is written. Data travels base64-encoded JSON
inside the expression, so no name can break out of an Erlang string literal (the declares' JSON, large, in a
private file the expression names: ``_DECLARE``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

ACTING_USER = "rabbitadmin"

#: The sections the definitions read takes from ``rabbit_definitions:list_*/0`` (exported from 3.8.10 on).
_EXPORTED_SECTIONS = (
    "users", "vhosts", "permissions", "topic_permissions", "global_runtime_parameters", "queues", "bindings",
    "exchanges",
)  # fmt: skip

#: The functions each operation needs, as (module, function, arity).
REQUIRED: dict[str, tuple[tuple[str, str, int], ...]] = {
    "common": (("rabbit_json", "decode", 1), ("rabbit_json", "encode", 1), ("rabbit_misc", "r", 3)),
    "exchange_delete": (("rabbit_exchange", "delete", 3),),
    "binding_delete": (
        ("rabbit_binding", "list_for_source_and_destination", 2),
        ("rabbit_binding", "info", 2),
        ("rabbit_binding", "remove", 2),
        ("rabbit_misc", "amqp_table", 1),
        ("rabbit_misc", "to_amqp_table", 1),
    ),
    "queue_delete": (("rabbit_amqqueue", "lookup", 1), ("rabbit_amqqueue", "delete", 4), ("amqqueue", "get_type", 1)),
    "import": (("rabbit_definitions", "import_parsed", 1),),
    "declare": (
        ("rabbit_definitions", "import_parsed", 1),
        ("amqp_connection", "start", 2),
        ("amqp_connection", "open_channel", 1),
        ("amqp_connection", "close", 1),
        ("amqp_channel", "call", 2),
        ("amqp_channel", "close", 1),
        ("rabbit_misc", "to_amqp_table", 1),
        ("rpc", "call", 5),
        ("atomics", "new", 2),
        ("atomics", "get", 2),
        ("atomics", "put", 3),
    ),
    "apply_lock": (
        ("rabbit_vhost", "exists", 1),
        ("rabbit_amqqueue", "declare", 6),
        ("rabbit_misc", "to_amqp_table", 1),
    ),
    "vhost_fields": (("rabbit_vhost", "info_all", 1),),
    "exchange_types": (("rabbit_registry", "lookup_all", 1), ("rabbit_json", "encode", 1)),
    "read_extras": (
        ("rabbit_vhost", "list_names", 0),
        ("rabbit_vhost", "exists", 1),
        ("rabbit_amqqueue", "info_all", 2),
        ("rabbit_amqqueue", "lookup", 1),
        ("rabbit_misc", "r", 3),
        ("amqqueue", "get_pid", 1),
        ("rabbit_fifo_client", "stat", 2),
        ("rabbit_exchange", "list", 1),
        ("rabbit_exchange", "info", 2),
        ("rabbit_misc", "amqp_table", 1),
        ("rabbit_json", "encode", 1),
    ),
    "export": (
        *(("rabbit_definitions", f"list_{section}", 0) for section in _EXPORTED_SECTIONS),
        ("rabbit_runtime_parameters", "list", 0),
        ("rabbit_policy", "list", 0),
        ("rabbit_json", "encode", 1),
    ),
}

# The whole expression is one fun, called at once: ``rabbitmqctl eval`` gets back the value *and every variable
# bound at the top level* (``erl_eval:exprs/2`` returns the bindings), copied into its own VM. Bound at the top,
# a definitions export or a list of 10,000 queues travelled back for nothing: the export's rabbitmqctl took
# 91 MB instead of 62 (3.10.8, W(10000)). Inside the fun they stay on the node.
_GUARD = """(fun() ->
Missing = [{{M, F, A}} || {{M, F, A}} <- [{mfas}],
    not (code:ensure_loaded(M) =:= {{module, M}} andalso erlang:function_exported(M, F, A))],
case Missing of
  [] ->
    {prelude}Specs = rabbit_json:decode(base64:decode(<<"{payload}">>)),
    {body};
  _ -> {{missing_functions, Missing}}
end
end)().
"""

_EXCHANGE_DELETE = """[try rabbit_exchange:delete(
        rabbit_misc:r(maps:get(<<"vhost">>, S), exchange, maps:get(<<"name">>, S)), false, <<"{user}">>) of
      ok -> deleted;
      {{error, not_found}} -> not_found;
      Other -> {{error, Other}}
     catch
      throw:{{error, {{no_such_vhost, _}}}} -> not_found
     end || S <- Specs]"""

_QUEUE_DELETE = """[case rabbit_amqqueue:lookup(
        rabbit_misc:r(maps:get(<<"vhost">>, S), queue, maps:get(<<"name">>, S))) of
      {{ok, Q}} ->
        IfUnused = maps:get(<<"if_unused">>, S, false) andalso amqqueue:get_type(Q) =:= rabbit_classic_queue,
        case rabbit_amqqueue:delete(Q, IfUnused, maps:get(<<"if_empty">>, S, false), <<"{user}">>) of
          {{ok, _}} -> deleted;
          {{error, not_empty}} -> not_empty;
          {{error, in_use}} -> in_use;
          Other -> {{error, Other}}
        end;
      {{error, not_found}} -> not_found
     end || S <- Specs]"""

_BINDING_DELETE = """Delete = fun(S) ->
      VHost = maps:get(<<"vhost">>, S),
      Src = rabbit_misc:r(VHost, exchange, maps:get(<<"source">>, S)),
      Kind = binary_to_existing_atom(maps:get(<<"destination_type">>, S), utf8),
      Dst = rabbit_misc:r(VHost, Kind, maps:get(<<"destination">>, S)),
      Key = maps:get(<<"routing_key">>, S),
      Want = rabbit_misc:amqp_table(rabbit_misc:to_amqp_table(maps:get(<<"arguments">>, S))),
      Found = [B || B <- rabbit_binding:list_for_source_and_destination(Src, Dst),
                    Info <- [rabbit_binding:info(B, [routing_key, arguments])],
                    proplists:get_value(routing_key, Info) =:= Key,
                    rabbit_misc:amqp_table(proplists:get_value(arguments, Info)) =:= Want],
      Results = [rabbit_binding:remove(B, <<"{user}">>) || B <- Found],
      case {{Found, lists:all(fun(R) -> R =:= ok end, Results)}} of
        {{[], _}} -> not_found;
        {{_, true}} -> deleted;
        _ -> {{error, Results}}
      end
    end,
    [Delete(S) || S <- Specs]"""

# Read-only: message counts of every queue and the internal exchanges (which the definitions export leaves
# out) of the vhosts asked for, as one JSON line, so that reading costs one call however many vhosts.
# A quorum queue's ``messages`` info item is its last metrics tick (``queue_coarse_metrics``, seconds behind:
# 0 right after publishes, 3.10.8 and 4.0.5). With ``"exact": true`` (counts that decide data loss) each quorum
# queue's leader is asked too (``rabbit_fifo_client:stat/2``, what a passive declare asks, 1 s at most) and the
# larger count is kept; a leader that does not answer leaves a tick of 0 unknown (null), not "empty"
# (``rabbit_quorum_queue:stat/2`` would answer 0). A stream's count is its metrics too (0 for a while after
# it is declared): an exact 0 there is unknown (null), as the HTTP backend's listing leaves it.
_EXTRAS_VALUE = """Wanted = case maps:get(<<"vhosts">>, Specs) of
      null -> rabbit_vhost:list_names();
      Names -> [V || V <- Names, rabbit_vhost:exists(V)]
    end,
    Exact = maps:get(<<"exact">>, Specs, false),
    Depth = fun(VH, N, quorum, M) when Exact =:= true ->
                  Stat = case rabbit_amqqueue:lookup(rabbit_misc:r(VH, queue, N)) of
                    {{ok, Q}} -> catch rabbit_fifo_client:stat(amqqueue:get_pid(Q), 1000);
                    _ -> missing
                  end,
                  case {{Stat, M}} of
                    {{{{ok, R, _}}, _}} when is_integer(M) -> max(R, M);
                    {{{{ok, R, _}}, _}} -> R;
                    {{_, 0}} -> null;
                    _ -> M
                  end;
               (_, _, stream, M) when Exact =:= true, M =:= 0 -> null;
               (_, _, _, M) -> M
            end,
    Queues = [[VH, N, Depth(VH, N, proplists:get_value(type, Info), proplists:get_value(messages, Info)),
               proplists:get_value(consumers, Info)] || VH <- Wanted,
              Info <- rabbit_amqqueue:info_all(VH, [name, type, messages, consumers]),
              {{resource, _, queue, N}} <- [proplists:get_value(name, Info)]],
    Fields = [type, durable, auto_delete, internal],
    Exchanges = [maps:from_list([{{<<"vhost">>, VH}}, {{<<"name">>, N}},
                  {{<<"arguments">>, rabbit_misc:amqp_table(proplists:get_value(arguments, Info))}}
                  | [{{atom_to_binary(K, utf8), proplists:get_value(K, Info)}} || K <- Fields]])
                 || VH <- Wanted, X <- rabbit_exchange:list(VH),
                    Info <- [rabbit_exchange:info(X, [name, type, durable, auto_delete, internal, arguments])],
                    proplists:get_value(internal, Info) =:= true,
                    {{resource, _, exchange, N}} <- [proplists:get_value(name, Info)]],
    Extras = #{{<<"queues">> => Queues, <<"internal_exchanges">> => Exchanges}},
    """

# Read-only: the definitions document of ``rabbit_definitions:all_definitions/0`` (what ``rabbitmqctl
# export_definitions`` prints), built here from the same server functions and encoded on the node, printed as
# one binary. Two sections are built by the expression itself rather than by the server's export:
# - parameters: 3.10's ``runtime_parameter_definition/1`` calls ``maps:from_list/1`` on every value, which
#   crashes the whole export (badarg) on a value that is not a list of pairs: a federation-upstream-set (a
#   list of objects) on 3.10.8; 4.0's ``maybe_map/1`` keeps such a list. Here a list of pairs (how the
#   server stores a JSON object it was given at the top) becomes a map, anything else stays as stored: a list
#   as a list, a map as a map, a scalar as it is. An empty value stays ``[]`` (JSON ``{}`` and ``[]`` are both
#   stored as ``[]``): what ``GET /api/definitions`` shows, where both exports turn it into ``{}``;
# - policies: the same for their definitions (the server stores them as pairs; 3.10's
#   ``policy_definition/1`` calls ``maps:from_list/1`` too).
# Values are encoded with ``rabbit_json`` (jsx on 3.10, thoas on 4.0), as the management API encodes them:
# JSON null stays null, where rabbitmqctl's own JSON encoder prints the string "null" (3.10.8 and 4.0.5).
# A value that no JSON can hold (a tuple written by Erlang code) makes the expression print the entries it
# cannot encode (section, vhost, component, name: never the value, which may hold a URI's password) and
# return ``unreadable`` instead of ``done``.
# ``export_definitions`` itself decodes the whole document into its own VM and encodes it there: 129 MB for
# W(10000) on 3.10.8, where this eval's rabbitmqctl stays at about 62 MB (the VM's own size).
_EXPORT_VALUE = """Value = fun(V) when is_list(V), V =/= [] ->
          case lists:all(fun(E) -> is_tuple(E) andalso tuple_size(E) =:= 2 end, V) of
            true -> maps:from_list(V);
            false -> V
          end;
        (V) -> V
    end,
    Get = fun proplists:get_value/2,
    Parameters = [#{{<<"vhost">> => Get(vhost, P), <<"component">> => Get(component, P), <<"name">> => Get(name, P),
                    <<"value">> => Value(Get(value, P))}}
                  || P <- rabbit_runtime_parameters:list(), is_list(P)],
    Policies = [#{{<<"vhost">> => Get(vhost, P), <<"name">> => Get(name, P), <<"pattern">> => Get(pattern, P),
                  <<"apply-to">> => Get('apply-to', P), <<"priority">> => Get(priority, P),
                  <<"definition">> => Value(Get(definition, P))}}
                || P <- rabbit_policy:list()],
    {{ok, Version}} = application:get_key(rabbit, vsn),
    Document = #{{rabbit_version => list_to_binary(Version), rabbitmq_version => list_to_binary(Version),
                 users => rabbit_definitions:list_users(), vhosts => rabbit_definitions:list_vhosts(),
                 permissions => rabbit_definitions:list_permissions(),
                 topic_permissions => rabbit_definitions:list_topic_permissions(),
                 parameters => Parameters,
                 global_parameters => rabbit_definitions:list_global_runtime_parameters(),
                 policies => Policies, queues => rabbit_definitions:list_queues(),
                 bindings => rabbit_definitions:list_bindings(), exchanges => rabbit_definitions:list_exchanges()}},
    """

# Prints ``{value}`` (a term holding the export's ``Document``) as one JSON line and returns ``done``; where no
# JSON can hold it, prints the entries of ``Document`` at fault and returns ``unreadable`` (see ``_EXPORT_VALUE``).
_PRINT_WITH_DOCUMENT = """try rabbit_json:encode({value}) of
      Json -> io:put_chars(iolist_to_binary([Json, $\n])), done
    catch _:_ ->
      Unreadable = [maps:put(<<"section">>, atom_to_binary(Section, utf8),
                             maps:with([<<"vhost">>, <<"component">>, <<"name">>], Entry))
                    || Section <- [parameters, global_parameters, policies], Entry <- maps:get(Section, Document),
                       try rabbit_json:encode(Entry) of _ -> false catch _:_ -> true end],
      io:put_chars(iolist_to_binary([rabbit_json:encode(Unreadable), $\n])),
      unreadable
    end"""

# The apply lock (see ``apply_lock``): the exclusive lock queue, owned by this eval's process on the node.
# It prints "locked" and then waits until the rabbitmqctl VM that asked goes away (its group leader lives
# there: a monitor on it fires when that VM exits or is killed), then returns, which deletes the queue.
# While it waits it asks the queue its length every 100 ms: an unused queue expires (a policy's ``expires``, an
# ``.*`` clean-up policy say), and each ``stat`` restarts that clock (``rabbit_amqqueue_process``: ``stat`` calls
# ``ensure_expiry_timer``, 3.10.8 and 4.0.5), so the lock queue lives as long as the lock.
# Anything else is one line: "limit <the server's words>" where 4.0's declare refuses a vhost at its
# max-queues (``rabbit_queue_type:check_queue_limits/1``; 3.10 checks that limit in ``rabbit_channel``
# only, so there the lock is declared past it), or "error <term>".
_APPLY_LOCK = """VHost = maps:get(<<"vhost">>, Specs),
    case rabbit_vhost:exists(VHost) of
      false -> io:format("missing~n"), missing;
      true ->
        QName = rabbit_misc:r(VHost, queue, maps:get(<<"name">>, Specs)),
        Args = rabbit_misc:to_amqp_table(maps:get(<<"arguments">>, Specs)),
        Caller = group_leader(),
        case rabbit_amqqueue:declare(QName, false, false, Args, self(), <<"{user}">>) of
          {{new, Q}} ->
            io:format("locked~n"),
            Ref = erlang:monitor(process, Caller),
            Hold = fun Hold() ->
              receive {{'DOWN', Ref, process, _, _}} -> released
              after 100 -> _ = (catch rabbit_amqqueue:stat(Q)), Hold()
              end
            end,
            Hold();
          {{existing, _}} -> io:format("busy~n"), busy;
          {{owner_died, _}} -> io:format("busy~n"), busy;
          {{error, queue_limit_exceeded, Fmt, FmtArgs}} ->
            io:format("limit ~ts~n", [io_lib:format(Fmt, FmtArgs)]), limit;
          Other -> io:format("error ~0p~n", [Other]), error
        end
    end"""

# A definitions import whose JSON the node decodes (``rabbit_json``, as ``POST /api/definitions`` does), for
# what rabbitmqctl's own decoder would change (``backend.needs_node_decoding``). ``import_parsed/1`` is what
# ``rabbitmqctl import_definitions`` calls with its decoded document (3.10.8 and 4.0.5). Prints "imported",
# or the server's error term.
_IMPORT_OUTCOME = """case rabbit_definitions:import_parsed({document}) of
      ok -> <<"imported">>;
      Error -> iolist_to_binary(io_lib:format("~p", [Error]))
    end"""
_IMPORT = (
    "Outcome = "
    + _IMPORT_OUTCOME.format(document="Specs")
    + """,
    io:put_chars(iolist_to_binary([rabbit_json:encode(Outcome), $\n])),
    done"""
)

# Exchanges, queues and bindings declared through RabbitMQ's own Erlang AMQP client on the node (see ``declare``):
# one direct connection per vhost, as the internal user ``none`` (``rabbit_direct``: a direct connection with
# no username logs in as ``rabbit_auth_backend_dummy:user()``, allowed everything, no password), one channel
# per slice, each slice declared in order by a process of its own, phase by phase.
# The declares' JSON is not in the expression: ``Specs`` names a private file that the node reads through the
# rabbitmqctl node that sent the expression (``rpc:call`` to the group leader's node, which runs as the user who
# wrote the file). In the expression, W(10000)'s 21,000 objects (3 MB) made rabbitmqctl's VM peak at 649 MB
# (about 270 bytes per byte of expression: the CLI scans and parses it; 3.10.8), against 62 MB for a tiny one.
# Why the funs come before ``Specs`` (the ``prelude``): a fun made by ``erl_eval`` carries every variable bound
# where it was made, and a process spawned with it gets a copy: made after ``Specs``, each of 32 workers
# copied all of the payload (measured, 3.10.8: 2,000 queues' phases with no declare at all took 2-3 s, 60-80 ms
# made before). Arguments become AMQP tables by ``rabbit_misc:to_amqp_table/1``, what the definitions import
# calls on the same JSON. A worker stops at the first refusal (the server closes its channel, or on 3.10 the
# whole connection for a hard error such as an unknown exchange type, its reason a charlist: both carry the
# code, and the reason is made a binary) and the others before their next declare (a shared flag), no
# further channel or connection opened; so do all when the rabbitmqctl that asked goes away (a monitor on its
# group leader: killed at its timeout, or by a second Ctrl-C). A whole connection closed hands the same exit to
# every call in flight on its channels (``amqp_channel``, 3.10.8), so those failures are marked "connection": the
# object refused is one of them, which one the answer does not say. A worker that crashes ends its slice (a
# monitor, not a link: the eval goes on) and a connection is closed whatever happens in its vhost's phases.
# Before any declare, the definitions document in
# ``Specs`` (``"import"``; null: none) is imported as ``_IMPORT`` does (vhosts, users, permissions, policies the
# declares need; secrets in it: it travels in the expression, never in the declares' file); the import refused,
# nothing is declared. Printed: {"import": null | "imported" | the server's error, "declares": null (the
# import was refused) | [per vhost: {"declared": [I, ...], "failed": [[I, Code, Reason] or [I, Code, Reason,
# "connection"], ...]} (Code 0: the answer is unknown; I null: a channel or worker lost, its slice's outcome
# not told) or {"connect_error": Reason}] | a string saying why nothing was declared: only where the
# ``amqp_client`` application already runs (management, shovel, federation), as ``amqp_connection:start``
# would otherwise start it and its dependencies on the node}.
_DECLARE_PRELUDE = """Stop = atomics:new(1, []),
    Caller = group_leader(),
    Watch = fun() ->
        Ref = erlang:monitor(process, Caller),
        receive {'DOWN', Ref, process, _, _} -> atomics:put(Stop, 1, 1); finished -> ok end
      end,
    Watcher = spawn(Watch),
    Text = fun(Term) -> iolist_to_binary(io_lib:format("~0p", [Term])) end,
    Words = fun(R) when is_binary(R) -> R;
               (R) when is_list(R) ->
                 try unicode:characters_to_binary(R) of B when is_binary(B) -> B; _ -> Text(R) catch _:_ -> Text(R) end;
               (R) -> Text(R)
            end,
    Table = fun(Args) -> rabbit_misc:to_amqp_table(Args) end,
    Method = fun
        ([<<"exchange">>, N, T, D, AD, I, A]) ->
          {{'exchange.declare', 0, N, T, false, D, AD, I, false, Table(A)}, 'exchange.declare_ok'};
        ([<<"queue">>, N, D, AD, A]) ->
          {{'queue.declare', 0, N, false, D, false, AD, false, Table(A)}, 'queue.declare_ok'};
        ([<<"queue_binding">>, Q, X, K, A]) -> {{'queue.bind', 0, Q, X, K, false, Table(A)}, 'queue.bind_ok'};
        ([<<"exchange_binding">>, D, S, K, A]) -> {{'exchange.bind', 0, D, S, K, false, Table(A)}, 'exchange.bind_ok'}
      end,
    Work = fun(Conn, Slice, Parent) ->
        Out = case catch amqp_connection:open_channel(Conn) of
          {ok, Ch} ->
            Loop = fun Loop([]) -> [];
                       Loop([[I | Item] | Rest]) ->
                         case atomics:get(Stop, 1) of
                           1 -> [];
                           _ ->
                             try
                               {Declare, Ok} = Method(Item),
                               {Ok, amqp_channel:call(Ch, Declare)}
                             of
                               {Ok, Answer} when is_tuple(Answer), element(1, Answer) =:= Ok -> [I | Loop(Rest)];
                               {_, Answer} -> atomics:put(Stop, 1, 1), [[I, 0, Text(Answer)]]
                             catch
                               exit:{{shutdown, {server_initiated_close, Code, Reason}}, _} ->
                                 atomics:put(Stop, 1, 1), [[I, Code, Words(Reason)]];
                               exit:{{shutdown, {connection_closing, {server_initiated_close, Code, Reason}}}, _} ->
                                 atomics:put(Stop, 1, 1), [[I, Code, Words(Reason), <<"connection">>]];
                               _:Why -> atomics:put(Stop, 1, 1), [[I, 0, Text(Why)]]
                             end
                         end
                   end,
            Done = Loop(Slice),
            catch amqp_channel:close(Ch),
            Done;
          Other ->
            atomics:put(Stop, 1, 1),
            [[null, 0, Text(Other)]]
        end,
        Parent ! {self(), Out}
      end,
    Phase = fun(Conn, Slices) ->
        case atomics:get(Stop, 1) of
          1 -> [];
          _ ->
            Parent = self(),
            Workers = [spawn_monitor(erlang, apply, [Work, [Conn, S, Parent]]) || S <- Slices],
            lists:append([receive
                             {P, R} -> erlang:demonitor(M, [flush]), R;
                             {'DOWN', M, process, P, Why} -> atomics:put(Stop, 1, 1), [[null, 0, Text(Why)]]
                           end || {P, M} <- Workers])
        end
      end,
    InVHost = fun(VHost, Phases) ->
        case atomics:get(Stop, 1) of
          1 -> #{<<"declared">> => [], <<"failed">> => []};
          _ ->
            Params = {amqp_params_direct, none, none, VHost, node(), none, []},
            case catch amqp_connection:start(Params, <<"rabbitadmin apply: declares">>) of
              {ok, Conn} ->
                try lists:append([Phase(Conn, Slices) || Slices <- Phases]) of
                  Out ->
                    #{<<"declared">> => [I || I <- Out, is_integer(I)], <<"failed">> => [F || F <- Out, is_list(F)]}
                after
                  catch amqp_connection:close(Conn)
                end;
              Other -> #{<<"connect_error">> => Text(Other)}
            end
        end
      end,
    """

_DECLARE = (
    """CliNode = node(group_leader()),
    Imported = case maps:get(<<"import">>, Specs) of
      null -> null;
      Document -> """
    + _IMPORT_OUTCOME.format(document="Document")
    + """
    end,
    Results = case Imported of
      Refused when is_binary(Refused), Refused =/= <<"imported">> -> null;
      _ ->
        case lists:keymember(amqp_client, 1, application:which_applications()) of
          false -> <<"the amqp_client application is not running on the node">>;
          true ->
            case rpc:call(CliNode, file, read_file, [maps:get(<<"file">>, Specs)], 60000) of
              {{ok, Json}} ->
                [InVHost(maps:get(<<"vhost">>, V), maps:get(<<"phases">>, V)) || V <- rabbit_json:decode(Json)];
              Other -> iolist_to_binary(["the node could not read the declares from rabbitmqctl: ", Text(Other)])
            end
        end
    end,
    Watcher ! finished,
    io:put_chars(iolist_to_binary([rabbit_json:encode(#{{<<"import">> => Imported, <<"declares">> => Results}}), $\n])),
    done"""
)

_CHECK = """[]"""

# Each outcome printed as one JSON string: "deleted", "not_found", or the server's error term.
_PRINT_OUTCOMES = """Outcomes = begin {body} end,
    Texts = [case O of
               A when is_atom(A) -> atom_to_binary(A, utf8);
               {{error, E}} -> iolist_to_binary(io_lib:format("~p", [E]))
             end || O <- Outcomes],
    io:put_chars(iolist_to_binary([rabbit_json:encode(Texts), $\n])),
    done"""

# Read-only: the vhost fields the definitions export leaves out (``kinds.FieldFacts.in_export``), named in
# ``Specs`` (``"vhost_fields"``), with each vhost's name: ``rabbit_vhost:info_all/1``, what ``rabbitmqctl
# list_vhosts`` calls (``tracing`` is ``rabbit_trace:enabled/1`` there; 3.10.8 and 4.0.5). One map per vhost.
_VHOST_FIELDS_VALUE = """VhostFields = [maps:from_list(Row) || Row <- rabbit_vhost:info_all(
        [name | [binary_to_existing_atom(K, utf8) || K <- maps:get(<<"vhost_fields">>, Specs)]])],
    """

_PRINT_JSON = """io:put_chars(iolist_to_binary([rabbit_json:encode({value}), $\n])),
    done"""

# Read-only: the exchange types the node has (its own and its plugins'), as the management API's overview lists
# them (``rabbit_registry``, 3.10.8 and 4.0.5); a list of names.
_EXCHANGE_TYPES_VALUE = """Types = [atom_to_binary(Type, utf8)
             || {{Type, _Module}} <- rabbit_registry:lookup_all(exchange)],
    """

#: The parts of the state read (``read``): its JSON object's keys and the terms the parts bind.
READ_PARTS = {"definitions": "Document", "extras": "Extras", "vhost_fields": "VhostFields"}
_READ_VALUE = "#{{" + ", ".join(f'<<"{key}">> => {term}' for key, term in READ_PARTS.items()) + "}}"

BODIES = {
    "exchange_delete": _EXCHANGE_DELETE,
    "binding_delete": _BINDING_DELETE,
    "queue_delete": _QUEUE_DELETE,
    "read_extras": _EXTRAS_VALUE + _PRINT_JSON.format(value="Extras"),
    "export": _EXPORT_VALUE + _PRINT_WITH_DOCUMENT.format(value="Document"),
    # The whole state read in one VM (``CtlBackend.read_state``): the three parts above, printed as one object.
    # The counts and vhost fields are gathered by a process of their own while the export is built, as the
    # separate calls did side by side. Spawned before anything but ``Specs`` is bound: the fun carries the
    # bindings made before it (see ``_DECLARE_PRELUDE``). Linked: its crash fails the eval (read apart then).
    "read": "Self = self(),\n    Gather = fun() ->\n    "
    + _EXTRAS_VALUE
    + _VHOST_FIELDS_VALUE
    + "Self ! {{self(), Extras, VhostFields}} end,\n    Side = spawn_link(Gather),\n    "
    + _EXPORT_VALUE
    + "{{Extras, VhostFields}} = receive {{Side, SideExtras, SideFields}} -> {{SideExtras, SideFields}} end,\n    "
    + _PRINT_WITH_DOCUMENT.format(value=_READ_VALUE),
    "exchange_types": _EXCHANGE_TYPES_VALUE + _PRINT_JSON.format(value="Types"),
    "apply_lock": _APPLY_LOCK,
    "import": _IMPORT,
    "declare": _DECLARE,
}
#: What an operation binds before ``Specs`` (see ``_DECLARE_PRELUDE``); inserted as it is (no ``format``).
PRELUDES = {"declare": _DECLARE_PRELUDE}


#: Operations made of others: they need what their parts need (looked up when the expression is built).
COMPOUNDS: dict[str, tuple[str, ...]] = {"read": ("export", "read_extras", "vhost_fields")}


def _mfas(operations: tuple[str, ...]) -> str:
    parts = [part for op in ("common", *operations) for part in COMPOUNDS.get(op, (op,))]
    needed = list(dict.fromkeys(mfa for op in parts for mfa in REQUIRED[op]))
    return ", ".join(f"{{{m}, {f}, {a}}}" for m, f, a in needed)


def expression(operation: str, specs: Any) -> str:
    """The Erlang expression carrying out ``operation`` with ``specs`` (JSON: a list of objects, for
    ``read_extras`` an object ``{"vhosts": [...] or null, "exact": bool}``, for ``read`` that object with
    ``"vhost_fields": [key, ...]`` too, for ``import`` a definitions document, for ``declare`` ``{"file": <a file
    holding what ctl.declare.declare_specs builds>, "import": <a definitions document to import first> or null}``)."""
    payload = base64.b64encode(json.dumps(specs, ensure_ascii=False).encode("utf-8")).decode("ascii")
    body = BODIES[operation].format(user=ACTING_USER)
    if operation not in ("read_extras", "export", "read", "exchange_types", "apply_lock", "import", "declare"):
        body = _PRINT_OUTCOMES.format(body=body)
    prelude = PRELUDES.get(operation, "")
    return _GUARD.format(mfas=_mfas((operation,)), payload=payload, body=body, prelude=prelude)


def check_expression(operations: tuple[str, ...]) -> str:
    """An expression that only checks the functions of ``operations`` exist (``[]`` when they all do)."""
    payload = base64.b64encode(b"[]").decode("ascii")
    return _GUARD.format(mfas=_mfas(operations), payload=payload, body=_CHECK, prelude="")


def parse_outcomes(output: str, count: int) -> list[str]:
    """The per-spec outcomes an operation printed (``deleted``, ``not_found`` or the server's error).

    Raises ``ValueError`` with the printed term when the node reported missing functions or failed as a whole.
    """
    outcomes = parse_json_line(output)
    if not isinstance(outcomes, list) or len(outcomes) != count:
        raise ValueError(f"expected {count} outcome(s), got: {str(outcomes)[:500]}")
    return [str(outcome) for outcome in outcomes]


MISSING_MARKER = "{missing_functions"


def parse_json_line(output: str) -> Any:
    """The JSON line an expression printed before returning ``done``.

    Raises ``ValueError`` with the printed term when the node reported missing functions or an error.
    """
    # Split from the end: the line may be a whole definitions export, not worth copying line by line.
    body, _, last = output.rstrip().rpartition("\n")
    line = body.rstrip().rpartition("\n")[2]
    if last.strip() != "done" or not line.strip():
        raise ValueError(" ".join(output.split())[:500] or "no output")
    return json.loads(line)
