module github.com/wsapi-go/wsapi/internal/interop

go 1.26.0

require (
	github.com/coder/websocket v1.8.15
	github.com/gorilla/websocket v1.5.3
)

require github.com/wsapi-go/wsapi v0.1.0

replace github.com/wsapi-go/wsapi => ../../
