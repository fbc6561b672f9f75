package cloudtrail

import (
	"reflect"
	"testing"
)

var xmlCorpus = []string{
	`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/bench</Arn>
      <AssumedRoleId>AROA123EXAMPLE123:bench</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>AQoDYXdzEPT//////////wEXAMPLE&amp;x=1&lt;2&#x41;&#66;</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`,
	`<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>You do not have "READ" permissions &apos;here&apos;</Message><RequestId>x</RequestId><Empty/><Empty2 /></Error>`,
	`<ListResult><Item><Name>a</Name></Item><Item><Name>b</Name></Item><Item><Name>c</Name></Item></ListResult>`,
	`<Root><List><member>1</member><member>2</member></List><Tags a='1' b="x>y"><T>v</T></Tags></Root>`,
	`<GetDataAccessResult xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Credentials><AccessKeyId>ASIA</AccessKeyId></Credentials><MatchedGrantTarget>s3://b/p/*</MatchedGrantTarget></GetDataAccessResult>`,
	`<a></a>`, `<a>text</a>`, `  <a> <b> x </b> </a>  `, ``, `<a>`, `<a></b>`, `<a>&bogus;</a>`, `<!-- c --><a/>`, `<a><![CDATA[x]]></a>`,
	`<p:a xmlns:p="u"><p:b>1</p:b></p:a>`, "<a>x\r\ny</a>", `<a/><b/>`, `<a b=1/>`, `<a>&#0;</a>`, `<?xml version="1.1"?><a/>`, "<a>\x01</a>",
	`<a><b>1</b>tail</a>`, `<a x="&amp;"/>`,
}

// The fast decoder agrees with encoding/xml wherever it answers, and
// answers for the sandbox's own replies.
func TestXMLFastAgreesWithEncodingXML(t *testing.T) {
	for i, in := range xmlCorpus {
		got, ok := xmlElementsFast([]byte(in))
		if want := xmlElements([]byte(in)); ok && !reflect.DeepEqual(got, want) {
			t.Errorf("#%d %q:\nfast %#v\nxml  %#v", i, in, got, want)
		}
		if i < 5 && !ok {
			t.Errorf("#%d: the fast decoder declined the sandbox's own kind of reply %q", i, in)
		}
	}
}

func FuzzXMLFast(f *testing.F) {
	for _, in := range xmlCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := xmlElementsFast(b)
		if ok && !reflect.DeepEqual(got, xmlElements(b)) {
			t.Fatalf("%q:\nfast %#v\nxml  %#v", b, got, xmlElements(b))
		}
	})
}
