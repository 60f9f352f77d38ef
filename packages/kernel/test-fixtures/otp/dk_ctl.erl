%% The OTP side of the differential test (packages/kernel/src/otp-differential.node.test.ts):
%% a controller that makes one `erl` node drivable from Node.js. It reads one Erlang term a line
%% from stdin, `{Id, Command, Args...}.`, runs each command in its own process (so a pending send
%% never blocks a `nodes` query), and writes one JSON object a line to stdout:
%%
%%   {"id":Id,"result":...}                                  a command's answer
%%   {"event":"nodeup"|"nodedown","node":N,"type":visible|hidden,"reason":R}
%%                                                           net_kernel:monitor_nodes/2 with
%%                                                           nodedown_reason and {node_type, all}
%%   {"event":"ready","node":N,"otp":"25.2.3"}               once, at start
%%
%% The registered process `dk_ctl` answers {ping, From, Ref} with {pong, Ref}: that is what a
%% "send" waits for, so "ok" means the request reached the peer and its reply came back.
%% End of stdin (the test process went away) halts the node, so no `erl` outlives its test.
-module(dk_ctl).
-export([main/0]).

main() ->
    Out = spawn_link(fun writer/0),
    register(dk_out, Out),
    Self = self(),
    spawn_link(fun() -> monitor_loop(Self) end),
    receive monitoring -> ok end,
    register(dk_ctl, spawn_link(fun responder/0)),
    {ok, Version} = file:read_file(filename:join([code:root_dir(), "releases",
                                                   erlang:system_info(otp_release), "OTP_VERSION"])),
    emit(#{event => ready, node => node(), otp => string:trim(Version)}),
    read_loop().

%% One writer, so lines from concurrent commands never interleave.
writer() ->
    receive {line, Map} -> io:put_chars(standard_io, [json(Map), $\n]) end,
    writer().

emit(Map) -> dk_out ! {line, Map}, ok.

monitor_loop(Parent) ->
    ok = net_kernel:monitor_nodes(true, [nodedown_reason, {node_type, all}]),
    Parent ! monitoring,
    monitor_events().

monitor_events() ->
    receive
        {nodeup, Node, Info} ->
            emit(#{event => nodeup, node => Node, type => proplists:get_value(node_type, Info)});
        {nodedown, Node, Info} ->
            emit(#{event => nodedown, node => Node, type => proplists:get_value(node_type, Info),
                   reason => reason(proplists:get_value(nodedown_reason, Info))})
    end,
    monitor_events().

reason(R) when is_atom(R) -> R;
reason(R) -> iolist_to_binary(io_lib:format("~0p", [R])).

responder() ->
    receive
        {ping, From, Ref} -> From ! {pong, Ref};
        _ -> ok
    end,
    responder().

read_loop() ->
    case io:get_line(standard_io, "") of
        eof -> erlang:halt(0);
        {error, _} -> erlang:halt(0);
        Line ->
            case parse(Line) of
                {ok, Term} when is_tuple(Term), tuple_size(Term) >= 2 ->
                    spawn(fun() -> run(Term) end);
                {ok, _} -> emit(#{error => <<"expected {Id, Command, Args...}">>});
                {error, Why} -> emit(#{error => Why});
                empty -> ok
            end,
            read_loop()
    end.

parse(Line) ->
    case string:trim(Line) of
        "" -> empty;
        Text ->
            case erl_scan:string(Text) of
                {ok, Tokens, _} ->
                    case erl_parse:parse_term(Tokens) of
                        {ok, Term} -> {ok, Term};
                        {error, _} -> {error, <<"not a term">>}
                    end;
                _ -> {error, <<"not a term">>}
            end
    end.

run(Command) ->
    Id = element(1, Command),
    Result = try command(Command)
             catch Class:Why -> #{error => iolist_to_binary(io_lib:format("~p:~0p", [Class, Why]))}
             end,
    emit(#{id => Id, result => Result}).

command({_, connect, Node}) -> net_kernel:connect_node(Node);
command({_, disconnect, Node}) -> erlang:disconnect_node(Node);
command({_, send, Node, TimeoutMs}) ->
    Ref = make_ref(),
    {dk_ctl, Node} ! {ping, self(), Ref},
    receive {pong, Ref} -> ok after TimeoutMs -> timeout end;
command({_, nodes}) ->
    #{visible => lists:sort(nodes()), hidden => lists:sort(nodes(hidden)),
      connected => lists:sort(nodes(connected))};
command({_, route, Node, Port}) ->
    %% Only meaningful when the node runs with -epmd_module dk_epmd (see dk_epmd.erl).
    dk_epmd:set_route(Node, Port);
command({_, stop}) ->
    spawn(fun() -> timer:sleep(10), init:stop() end),
    ok.

%% A small JSON encoder: atoms (true, false and null stay JSON's), integers, binaries, lists, maps.
json(true) -> <<"true">>;
json(false) -> <<"false">>;
json(null) -> <<"null">>;
json(undefined) -> <<"null">>;
json(A) when is_atom(A) -> json(atom_to_binary(A, utf8));
json(I) when is_integer(I) -> integer_to_binary(I);
json(B) when is_binary(B) -> [$", escape(B), $"];
json(L) when is_list(L) -> [$[, lists:join($,, [json(X) || X <- L]), $]];
json(M) when is_map(M) ->
    [${, lists:join($,, [[json(K), $:, json(V)] || {K, V} <- lists:sort(maps:to_list(M))]), $}].

escape(B) ->
    [case C of
         $" -> <<"\\\"">>;
         $\\ -> <<"\\\\">>;
         C when C < 32 -> io_lib:format("\\u~4.16.0b", [C]);
         C -> C
     end || <<C>> <= B].
