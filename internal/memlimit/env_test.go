package memlimit

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestEnvEncoding(t *testing.T) {
	for _, m := range []Mechanism{MechanismCgroup, MechanismRlimit} {
		v := EnvValue(m, 268435456)
		got, limit, err := ParseEnv(v)
		if err != nil || got != m || limit != 268435456 {
			t.Errorf("ParseEnv(%q) = %s, %d, %v", v, got, limit, err)
		}
	}
	if v := EnvValue(MechanismRlimit, 268435456); v != "rlimit+watchdog:268435456" {
		t.Errorf("EnvValue = %q", v)
	}
	for _, bad := range []string{"", "268435456", "cgroup:", "cgroup:-1", "cgroup:0", "cgroup:1x", "rlimit:5", ":5"} {
		if _, _, err := ParseEnv(bad); err == nil {
			t.Errorf("ParseEnv(%q): want an error", bad)
		}
	}
	if MechanismNone.String() != "none" || MechanismCgroup.String() != "cgroup" {
		t.Error("Mechanism.String")
	}
}

func TestWithEnv(t *testing.T) {
	env := WithEnv([]string{"A=1", EnvVar + "=cgroup:5", "B=2"}, MechanismRlimit, 7)
	want := []string{"A=1", "B=2", EnvVar + "=rlimit+watchdog:7"}
	if len(env) != len(want) {
		t.Fatalf("WithEnv = %q, want %q", env, want)
	}
	for i := range want {
		if env[i] != want[i] {
			t.Fatalf("WithEnv = %q, want %q", env, want)
		}
	}
	if env := WithEnv([]string{}, MechanismCgroup, 7); len(env) != 1 {
		t.Errorf("WithEnv of an empty env = %q, want only %s", env, EnvVar)
	}
}

// Not parallel: it changes the process's environment and GC limit.
func TestApplyFromEnvCgroup(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if m, err := ApplyFromEnv(); m != MechanismNone || err != nil {
		t.Fatalf("ApplyFromEnv without %s = %s, %v", EnvVar, m, err)
	}
	t.Setenv(EnvVar, EnvValue(MechanismCgroup, 1000<<20))
	// With the cgroup mechanism only the GC limit is set: this process's rlimit stays as is.
	m, err := ApplyFromEnv()
	if m != MechanismCgroup || err != nil {
		t.Fatalf("ApplyFromEnv = %s, %v", m, err)
	}
	if got := debug.SetMemoryLimit(-1); got != 900<<20 {
		t.Errorf("GC limit = %d, want %d", got, 900<<20)
	}
	if _, ok := os.LookupEnv(EnvVar); ok {
		t.Errorf("%s still set after ApplyFromEnv", EnvVar)
	}
	// A stricter GC limit in force stays.
	debug.SetMemoryLimit(100 << 20)
	if got := SetGCLimit(1000 << 20); got != 100<<20 {
		t.Errorf("SetGCLimit over a stricter limit = %d, want %d", got, 100<<20)
	}
	t.Setenv(EnvVar, "garbage")
	if _, err := ApplyFromEnv(); err == nil {
		t.Error("ApplyFromEnv of a malformed value: want an error")
	}
}
