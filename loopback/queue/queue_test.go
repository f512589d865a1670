package queue

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name string
		wire string
		want any
		err  string
	}{
		{name: "status", wire: "+PONG\r\n", want: "PONG"},
		{name: "integer", wire: ":3\r\n", want: int64(3)},
		{name: "bulk", wire: "$5\r\nhello\r\n", want: "hello"},
		{name: "nil bulk", wire: "$-1\r\n", want: nil},
		{name: "array", wire: "*2\r\n$4\r\nlist\r\n$3\r\njob\r\n", want: []any{"list", "job"}},
		{name: "error", wire: "-WRONGTYPE bad\r\n", err: "redis: WRONGTYPE bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.wire)))
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// The client writes RESP arrays of bulk strings, as redis-server expects.
func TestClientWritesCommands(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 256)
		n, _ := conn.Read(buf)
		got <- string(buf[:n])
		_, _ = conn.Write([]byte(":2\r\n"))
	}()
	c := Client{Addr: l.Addr().String()}
	require.NoError(t, c.Push(context.Background(), "gpu-jobs", "a", "b"))
	assert.Equal(t, "*4\r\n$5\r\nLPUSH\r\n$8\r\ngpu-jobs\r\n$1\r\na\r\n$1\r\nb\r\n", <-got)
}
