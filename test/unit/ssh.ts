// SSH's pure parts: authorized_keys as OpenSSH writes it.
import t from 'tap';
import { findKey, parseAuthorizedKeys } from '../../src/ssh/authorized-keys';

// A real ed25519 public key (ssh-keygen), and one of another type.
const ED25519 = 'AAAAC3NzaC1lZDI1NTE5AAAAIPcd0dU5Qnj4sW8nXN0Fc1tYhGYvvGk1RxHg0PzQ3rF/';
const blob = (type: string, key: Buffer) => {
  const name = Buffer.from(type);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(name.length);
  return Buffer.concat([head, name, key]).toString('base64');
};
const RSA = blob('ssh-rsa', Buffer.alloc(40, 3));

t.test('keys, comments, options and bad lines', async (t) => {
  const { keys, problems } = parseAuthorizedKeys(
    [
      '# alice\'s keys',
      '',
      `ssh-ed25519 ${ED25519} alice@laptop`,
      `  ssh-rsa ${RSA}  `,
      `no-pty,no-port-forwarding ssh-ed25519 ${ED25519} restricted key`,
      `from="10.0.0.1,10.0.0.2" ssh-ed25519 ${ED25519} from somewhere`,
      `command="echo a, b" ssh-ed25519 ${ED25519}`,
      'ssh-ed25519 not*base64',
      `ssh-rsa ${ED25519} wrong type inside`,
      'ssh-foo AAAA',
      `no-pty,"unclosed ssh-ed25519 ${ED25519}`,
      'garbage',
    ].join('\n'),
  );
  t.same(
    keys.map((k) => [k.type, k.comment, k.noPty]),
    [
      ['ssh-ed25519', 'alice@laptop', false],
      ['ssh-rsa', '', false],
      ['ssh-ed25519', 'restricted key', true],
    ],
  );
  t.same(problems, [
    'line 6: option from is not supported here: key ignored',
    'line 7: option command is not supported here: key ignored',
    'line 8: the key is not base64',
    "line 9: the key's data is not a ssh-rsa key",
    'line 10: unknown key type "AAAA"',
    'line 11: neither a key type nor options followed by one',
    'line 12: neither a key type nor options followed by one',
  ]);
  const offered = Buffer.from(ED25519, 'base64');
  t.equal(findKey(keys, 'ssh-ed25519', offered)?.comment, 'alice@laptop');
  t.equal(findKey(keys, 'ssh-rsa', offered), undefined, 'the type must match too');
  t.equal(findKey(keys, 'ssh-ed25519', Buffer.from(RSA, 'base64')), undefined);
});
