%% An epmd client (`erl -epmd_module dk_epmd`) that is erl_epmd except for the nodes the test has
%% routed: for those, the distribution port is the one the test set (a TCP relay it controls, so
%% it can cut the network between two nodes). Everything else goes to the real epmd.
%% Routes are set by dk_ctl's `{Id, route, Node, Port}` command.
-module(dk_epmd).
-export([start_link/0, register_node/2, register_node/3, port_please/2, port_please/3,
         listen_port_please/2, names/1, address_please/3, set_route/2]).

%% The distribution protocol version epmd reports for OTP 23 and later nodes.
-define(DIST_VERSION, 6).

set_route(Node, Port) when is_atom(Node), is_integer(Port) ->
    [Name | _] = string:split(atom_to_list(Node), "@"),
    persistent_term:put({?MODULE, Name}, Port).

route(Name) -> persistent_term:get({?MODULE, to_list(Name)}, none).

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(L) -> L.

start_link() -> erl_epmd:start_link().
register_node(Name, Port) -> erl_epmd:register_node(Name, Port).
register_node(Name, Port, Family) -> erl_epmd:register_node(Name, Port, Family).
listen_port_please(Name, Host) -> erl_epmd:listen_port_please(Name, Host).
names(Host) -> erl_epmd:names(Host).

port_please(Name, Host) -> port_please(Name, Host, infinity).
port_please(Name, Host, Timeout) ->
    case route(Name) of
        none -> erl_epmd:port_please(Name, Host, Timeout);
        Port -> {port, Port, ?DIST_VERSION}
    end.

address_please(Name, Host, Family) ->
    case route(Name) of
        none -> erl_epmd:address_please(Name, Host, Family);
        Port ->
            {ok, Ip} = inet:getaddr(Host, Family),
            {ok, Ip, Port, ?DIST_VERSION}
    end.
