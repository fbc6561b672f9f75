package s3

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strconv"
	"strings"

	"github.com/tipctl/tipctl/sandbox/awsproto"
)

// Payload hash values of x-amz-content-sha256 that announce aws-chunked bodies.
const (
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	emptySHA256              = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// ChecksumAlgorithms are the flexible checksums S3 accepts, in header order.
var ChecksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// crc64NVMETable uses the reflected NVMe polynomial.
	crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

// ChecksumHeader is the header carrying algorithm's checksum, e.g. x-amz-checksum-crc32.
func ChecksumHeader(algorithm string) string { return "x-amz-checksum-" + strings.ToLower(algorithm) }

// ComputeChecksum returns the base64 checksum of body with algorithm
// (empty for an unknown algorithm).
func ComputeChecksum(algorithm string, body []byte) string {
	var sum []byte
	switch strings.ToUpper(algorithm) {
	case "CRC32":
		sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body))
	case "CRC32C":
		sum = binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, castagnoli))
	case "CRC64NVME":
		sum = binary.BigEndian.AppendUint64(nil, crc64.Checksum(body, crc64NVMETable))
	case "SHA1":
		s := sha1.Sum(body)
		sum = s[:]
	case "SHA256":
		s := sha256.Sum256(body)
		sum = s[:]
	default:
		return ""
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// checksumMismatch is S3's BadDigest for a flexible checksum.
func checksumMismatch(algorithm string) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", strings.ToUpper(algorithm))
}

// chunkSigner recomputes the signatures of a SigV4-signed aws-chunked body.
// Each chunk is signed over the previous signature, starting with the
// request's seed signature.
type chunkSigner struct {
	key   []byte
	date  string // X-Amz-Date
	scope string // DATE/REGION/SERVICE/aws4_request
	prev  string
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func newChunkSigner(secret, amzDate, date, region, service, seed string) *chunkSigner {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	return &chunkSigner{key: k, date: amzDate, scope: date + "/" + region + "/" + service + "/aws4_request", prev: seed}
}

func (c *chunkSigner) sign(algorithm, hashes string) string {
	sts := algorithm + "\n" + c.date + "\n" + c.scope + "\n" + c.prev + "\n" + hashes
	c.prev = hex.EncodeToString(hmacSHA256(c.key, sts))
	return c.prev
}

func (c *chunkSigner) chunk(data []byte) string {
	h := sha256.Sum256(data)
	return c.sign("AWS4-HMAC-SHA256-PAYLOAD", emptySHA256+"\n"+hex.EncodeToString(h[:]))
}

func (c *chunkSigner) trailer(canonical []byte) string {
	h := sha256.Sum256(canonical)
	return c.sign("AWS4-HMAC-SHA256-TRAILER", hex.EncodeToString(h[:]))
}

func incompleteBody(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "IncompleteBody", format, a...)
}

func malformedTrailer(format string, a ...any) *awsproto.Error {
	return awsproto.Errorf(http.StatusBadRequest, "MalformedTrailerError", format, a...)
}

// decodeChunked decodes an aws-chunked body:
//
//	SIZE-HEX[;chunk-signature=SIG]\r\n DATA \r\n … 0[;chunk-signature=SIG]\r\n
//	[name:value\r\n …] [x-amz-trailer-signature:SIG\r\n] \r\n
//
// With signer set, every chunk signature (and the trailer signature when
// trailers come) is verified. It returns the payload and the trailers.
// The payload is decoded in place, into raw's own array (each chunk moves
// back over the headers before it), so a large upload is not held twice.
func decodeChunked(raw []byte, signer *chunkSigner, signedTrailer bool) ([]byte, map[string]string, *awsproto.Error) {
	out := raw[:0]
	rest := raw
	nextLine := func() (string, bool) {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			return "", false
		}
		line := string(rest[:i])
		rest = rest[i+2:]
		return line, true
	}
	for {
		line, ok := nextLine()
		if !ok {
			return nil, nil, incompleteBody("the aws-chunked body ended before its final zero-length chunk")
		}
		sizeHex, ext, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, incompleteBody("malformed aws-chunked chunk header %q", awsproto.Truncate(line, 40))
		}
		if size > int64(len(rest)) {
			return nil, nil, incompleteBody("an aws-chunked chunk announces %d bytes but only %d remain", size, len(rest))
		}
		data := rest[:size]
		rest = rest[size:]
		if signer != nil {
			got, ok := strings.CutPrefix(strings.TrimSpace(ext), "chunk-signature=")
			if !ok {
				return nil, nil, awsproto.Errorf(http.StatusForbidden, "SignatureDoesNotMatch", "a chunk of the signed aws-chunked body has no chunk-signature")
			}
			if want := signer.chunk(data); subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
				return nil, nil, awsproto.Errorf(http.StatusForbidden, "SignatureDoesNotMatch",
					"The chunk signature we calculated does not match the signature you provided (chunk at byte %d of the payload).", len(out))
			}
		}
		if size == 0 {
			break
		}
		out = append(out, data...) // never past data's own end: no reallocation, no overlap with rest
		if !bytes.HasPrefix(rest, []byte("\r\n")) {
			return nil, nil, incompleteBody("an aws-chunked chunk is not followed by CRLF")
		}
		rest = rest[2:]
	}
	trailers := map[string]string{}
	var canonical bytes.Buffer
	trailerSig := ""
	for len(rest) > 0 {
		line, ok := nextLine()
		if !ok {
			// Tolerate a missing final CRLF.
			line, rest = string(rest), nil
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, malformedTrailer("the trailer line %q is not name:value", awsproto.Truncate(line, 60))
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = value
			continue
		}
		trailers[name] = value
		canonical.WriteString(name + ":" + value + "\n")
	}
	if signer != nil && signedTrailer {
		if trailerSig == "" {
			return nil, nil, awsproto.Errorf(http.StatusForbidden, "SignatureDoesNotMatch", "the signed aws-chunked body has no x-amz-trailer-signature")
		}
		if want := signer.trailer(canonical.Bytes()); subtle.ConstantTimeCompare([]byte(want), []byte(trailerSig)) != 1 {
			return nil, nil, awsproto.Errorf(http.StatusForbidden, "SignatureDoesNotMatch", "The trailer signature we calculated does not match the signature you provided.")
		}
	}
	return out, trailers, nil
}
