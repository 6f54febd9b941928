package proxy

import (
	"bytes"
	"io"
	"mime/multipart"
	"testing"
)

// FuzzMultipartTokenSeen: whatever a multipart body holds, a part Go's
// parser names access_token (as any framework reads the name: RFC 2231
// name*, brackets, case) is one partNamesAccessToken finds, so the check
// that reads raw heads never misses what the one parser at hand reads.
func FuzzMultipartTokenSeen(f *testing.F) {
	const b = "XyZ"
	for _, s := range []string{
		"--XyZ\r\nContent-Disposition: form-data; name=\"access_token\"\r\n\r\nt\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name*=utf-8''%61ccess_token\r\n\r\nt\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data;\r\n\tname=\"Access.Token\"\r\n\r\nt\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name*0=acc; name*1=ess_token\r\n\r\nt\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"access\r\n token\"\r\n\r\nt\r\n--XyZ--\r\n",
		"preamble\r\n--XyZ\r\ncontent-disposition:form-data;name=access_token[]\r\n\r\nt\r\n--XyZ--\r\n",
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\naccess_token\r\n--XyZ--\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		mr := multipart.NewReader(bytes.NewReader(body), b)
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			if isAccessTokenName(p.FormName()) && !partNamesAccessToken(string(body), b) {
				t.Fatalf("Go names a part %q, and the check missed it in %q", p.FormName(), body)
			}
			_, _ = io.Copy(io.Discard, p)
		}
	})
}
