package handle

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/multiproc/multiproc/internal/procid"
)

// A token is tokenSize bytes, little endian:
//
//	0  "mpH1"  magic and version
//	4  kind    uint8, then 3 bytes of zero
//	8  size    uint64, bytes of memory
//	16 creator uint64, procid.ID (the Key)
//	24 serial  uint64 (the Key)
//	32 holder  uint64, procid.ID of the process that wrote the token
const tokenSize = 40

var tokenMagic = [4]byte{'m', 'p', 'H', '1'}

var errBadToken = errors.New("handle: malformed token")

// token is a token's content.
type token struct {
	kind   Kind
	size   int
	key    Key
	holder procid.ID
}

func (t token) append(b []byte) []byte {
	b = append(b, tokenMagic[:]...)
	b = append(b, byte(t.kind), 0, 0, 0)
	b = binary.LittleEndian.AppendUint64(b, uint64(t.size))
	b = binary.LittleEndian.AppendUint64(b, uint64(t.key.Creator))
	b = binary.LittleEndian.AppendUint64(b, t.key.Serial)
	return binary.LittleEndian.AppendUint64(b, uint64(t.holder))
}

func parseToken(b []byte) (token, error) {
	if len(b) != tokenSize || [4]byte(b[:4]) != tokenMagic {
		return token{}, errBadToken
	}
	t := token{
		kind:   Kind(b[4]),
		size:   int(binary.LittleEndian.Uint64(b[8:])),
		key:    Key{procid.ID(binary.LittleEndian.Uint64(b[16:])), binary.LittleEndian.Uint64(b[24:])},
		holder: procid.ID(binary.LittleEndian.Uint64(b[32:])),
	}
	if t.size <= 0 || t.size > 1<<46 || t.key.Creator == 0 || t.holder == 0 {
		return token{}, fmt.Errorf("%w: %+v", errBadToken, t)
	}
	return t, nil
}
