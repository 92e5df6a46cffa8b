//go:build unix

package multiproc

import (
	"strings"
	"testing"
)

func TestRefuseHandles(t *testing.T) {
	l, err := NewLock()
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewValue[int32](1)
	type inner struct{ L *Lock }
	type outer struct {
		Name  string
		Items []inner
		Any   any
	}
	for _, tc := range []struct {
		v    any
		want string // "" for no error
	}{
		{42, ""},
		{"text", ""},
		{struct{ A, B int }{1, 2}, ""},
		{l, "*multiproc.Lock"},
		{v, "*multiproc.Value[int32]"},
		{outer{Name: "x"}, ""},
		{outer{Items: []inner{{}, {l}}}, "*multiproc.Lock"},
		{outer{Any: v}, "*multiproc.Value[int32]"},
		{map[string]any{"a": 1, "b": l}, "*multiproc.Lock"},
		{(*Lock)(nil), ""},
	} {
		err := refuseHandles(tc.v)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("refuseHandles(%T) = %v, want nil", tc.v, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("refuseHandles(%T) = %v, want an error naming %s", tc.v, err, tc.want)
		}
	}
}
