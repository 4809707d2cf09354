module github.com/wsapi-go/wsapi/internal/interop

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/gorilla/websocket v1.5.3
)

require github.com/wsapi-go/wsapi v0.0.0-00010101000000-000000000000

replace github.com/wsapi-go/wsapi => ../../
