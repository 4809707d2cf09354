package servers

// The burst scenario's route, /chat: every text message a client sends is
// broadcast to every connected client, the sender included, through the
// library's own broadcast path:
//
//   - wsapi: a Manager with its defaults (wsapi.NewManager(nil)), Connect,
//     ReceiveText and Broadcast, as in examples/chat;
//   - gorilla: the hub of gorilla's examples/chat (a goroutine owning the
//     client set, a 256-message send channel per client, a client whose
//     channel is full is dropped);
//   - gws: a gws.Broadcaster per message over a ConcurrentMap, as for /sub.
//
// The Instance's chat function counts the clients registered on /chat.

// BurstNames lists the contenders that serve the burst scenario's route,
// /chat.
var BurstNames = []string{"wsapi", "gorilla", "gws"}
