/**
 * The Groups sidebar: my invitations, my groups (with members, sent invitations and an
 * invite form for groups I manage) and the science domains. It renders the model and
 * runs commands; it makes no request of its own except username completion via the model.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addIcon,
  LabIcon,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal,
} from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import {
  CommandIDs,
  type IDomain,
  type IGroupDetail,
  type IGroupSummary,
  type IInvitation,
  type InvitableRole,
} from '../tokens.js';
import type { GroupsModel } from './model.js';

const GROUPS_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
  '<g class="jp-icon3" fill="#616161">' +
  '<circle cx="8" cy="8" r="3.2"/><circle cx="16.5" cy="9" r="2.6"/>' +
  '<path d="M2 19c0-3.3 2.7-5.6 6-5.6s6 2.3 6 5.6z"/>' +
  '<path d="M14.6 19c0-1.9-.6-3.5-1.7-4.7.9-.5 2-.8 3.1-.8 2.9 0 5 2 5 5.5z"/>' +
  '</g></svg>';

export const groupsIcon = new LabIcon({ name: 'orrery:groups', svgstr: GROUPS_SVG });

export interface IGroupsPanelOptions {
  model: GroupsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /** Current settings, read at render time. */
  settings: () => { showDomains: boolean; defaultInviteRole: InvitableRole };
}

export class GroupsPanel extends ReactWidget {
  constructor(private readonly options: IGroupsPanelOptions) {
    super();
    this.id = 'orrery-groups';
    this.addClass('jp-OrreryGroups');
    this.title.icon = groupsIcon;
    this.title.caption = options.trans.__('Orrery Groups');
  }

  protected render(): React.ReactElement {
    return (
      <UseSignal signal={this.options.model.changed}>
        {() => <GroupsView {...this.options} />}
      </UseSignal>
    );
  }
}

type ViewProps = IGroupsPanelOptions;

function GroupsView(props: ViewProps): React.ReactElement {
  const { model, commands, trans } = props;
  const exec = (id: CommandIDs, args: Record<string, string> = {}) => {
    void commands.execute(id, args);
  };
  const { showDomains } = props.settings();
  return (
    <div className="jp-OrreryGroups-body">
      <header className="jp-OrreryGroups-header">
        <h2 className="jp-OrreryGroups-title">{trans.__('Groups')}</h2>
        <ToolbarButtonComponent
          icon={addIcon}
          tooltip={trans.__('Create a group')}
          onClick={() => exec(CommandIDs.createGroup)}
          dataset={{ 'data-testid': 'orrery-create-group' }}
        />
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip={trans.__('Refresh')}
          enabled={!model.loading}
          onClick={() => exec(CommandIDs.refreshGroups)}
        />
      </header>
      {model.user && (
        <div className="jp-OrreryGroups-whoami">{trans.__('Signed in as %1', model.user.name)}</div>
      )}
      {model.error && (
        <div className="jp-OrreryGroups-error" role="alert">
          {model.error.message}
        </div>
      )}
      {!model.loaded && !model.error && (
        <div className="jp-OrreryGroups-empty">{trans.__('Loading…')}</div>
      )}
      {model.invitations.length > 0 && (
        <Section
          title={trans.__('Invitations')}
          count={model.invitations.length}
          name="invitations"
        >
          {model.invitations.map((inv) => (
            <InvitationRow key={String(inv.id)} inv={inv} exec={exec} trans={trans} />
          ))}
        </Section>
      )}
      {model.loaded && (
        <Section title={trans.__('My groups')} count={model.groups.length} name="groups">
          {model.groups.length === 0 && (
            <li className="jp-OrreryGroups-empty">
              {trans.__('You belong to no group yet. Create one with +.')}
            </li>
          )}
          {model.groups.map((g) => (
            <GroupRow key={String(g.id)} group={g} {...props} exec={exec} />
          ))}
        </Section>
      )}
      {model.loaded && showDomains && (
        <Section title={trans.__('Science domains')} count={model.domains.length} name="domains">
          {model.domains.length === 0 && (
            <li className="jp-OrreryGroups-empty">{trans.__('No science domain is open.')}</li>
          )}
          {model.domains.map((d) => (
            <DomainRow key={String(d.id)} domain={d} exec={exec} trans={trans} />
          ))}
        </Section>
      )}
    </div>
  );
}

type Exec = (id: CommandIDs, args?: Record<string, string>) => void;

function Section(props: {
  title: string;
  count: number;
  name: string;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <section className="jp-OrreryGroups-section" data-section={props.name}>
      <h3 className="jp-OrreryGroups-sectionTitle">
        {props.title} <span className="jp-OrreryGroups-count">{props.count}</span>
      </h3>
      <ul className="jp-OrreryGroups-list">{props.children}</ul>
    </section>
  );
}

function Badge(props: { text: string; kind?: string }): React.ReactElement {
  return (
    <span className={`jp-OrreryGroups-badge jp-OrreryGroups-badge-${props.kind ?? 'role'}`}>
      {props.text}
    </span>
  );
}

function InvitationRow(props: {
  inv: IInvitation;
  exec: Exec;
  trans: TranslationBundle;
}): React.ReactElement {
  const { inv, exec, trans } = props;
  const id = String(inv.id);
  return (
    <li
      className="jp-OrreryGroups-item jp-OrreryGroups-invitation jp-OrreryGroups-contextTarget"
      data-invitation-id={id}
      data-group-name={inv.group.name}
    >
      <div className="jp-OrreryGroups-itemMain">
        <span className="jp-OrreryGroups-name">{inv.group.name}</span>
        <Badge text={inv.role} />
      </div>
      <div className="jp-OrreryGroups-meta">
        {trans.__('Invited by %1', inv.invited_by)}
        {inv.group.description ? ` · ${inv.group.description}` : ''}
      </div>
      <div className="jp-OrreryGroups-actions">
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept"
          onClick={() => exec(CommandIDs.acceptInvitation, { invitationId: id })}
        >
          {trans.__('Accept')}
        </button>
        <button
          type="button"
          className="jp-mod-styled jp-mod-reject"
          onClick={() => exec(CommandIDs.declineInvitation, { invitationId: id })}
        >
          {trans.__('Decline')}
        </button>
      </div>
    </li>
  );
}

function GroupRow(props: ViewProps & { group: IGroupSummary; exec: Exec }): React.ReactElement {
  const { group, model, trans } = props;
  const id = String(group.id);
  const open = model.selectedId !== null && String(model.selectedId) === id;
  const select = () => {
    model.select(group.id).catch(() => {
      // The detail request failed: show it like a refresh failure.
      void props.commands.execute(CommandIDs.refreshGroups);
    });
  };
  return (
    <li
      className={`jp-OrreryGroups-item jp-OrreryGroups-group jp-OrreryGroups-contextTarget${open ? ' jp-mod-selected' : ''}`}
      data-group-id={id}
      data-group-name={group.name}
      data-role={group.role}
    >
      <button
        type="button"
        className="jp-OrreryGroups-itemMain jp-OrreryGroups-toggle"
        aria-expanded={open}
        onClick={select}
      >
        <span className="jp-OrreryGroups-name">{group.name}</span>
        {group.kind !== 'group' && <Badge text={group.kind} kind="kind" />}
        <Badge text={group.role} />
        <span className="jp-OrreryGroups-count" title={trans.__('Members')}>
          {group.member_count}
        </span>
      </button>
      {open && model.selected && <GroupDetail {...props} detail={model.selected} />}
      {open && !model.selected && (
        <div className="jp-OrreryGroups-meta">{trans.__('Loading…')}</div>
      )}
    </li>
  );
}

function GroupDetail(
  props: ViewProps & { group: IGroupSummary; detail: IGroupDetail; exec: Exec },
): React.ReactElement {
  const { detail, model, trans, exec } = props;
  const groupId = String(detail.id);
  const pending = detail.invitations.filter((i) => i.status.toLowerCase() === 'pending');
  return (
    <div className="jp-OrreryGroups-detail">
      {detail.description && <p className="jp-OrreryGroups-description">{detail.description}</p>}
      <h4 className="jp-OrreryGroups-subTitle">{trans.__('Members')}</h4>
      <ul className="jp-OrreryGroups-members">
        {detail.members.map((m) => (
          <li
            key={m.name}
            className="jp-OrreryGroups-member jp-OrreryGroups-contextTarget"
            data-group-id={groupId}
            data-username={m.name}
            data-role={m.role}
          >
            <span className="jp-OrreryGroups-name">
              {m.name}
              {m.name === model.user?.name ? ` ${trans.__('(you)')}` : ''}
            </span>
            <Badge text={m.role} />
            <span className="jp-OrreryGroups-memberActions">
              {model.canChangeRole(detail, m) && m.role === 'MEMBER' && (
                <button
                  type="button"
                  className="jp-OrreryGroups-link"
                  onClick={() => exec(CommandIDs.promoteMember, { groupId, username: m.name })}
                >
                  {trans.__('Make admin')}
                </button>
              )}
              {model.canChangeRole(detail, m) && m.role === 'ADMIN' && (
                <button
                  type="button"
                  className="jp-OrreryGroups-link"
                  onClick={() => exec(CommandIDs.demoteMember, { groupId, username: m.name })}
                >
                  {trans.__('Make member')}
                </button>
              )}
              {model.canRemove(detail, m) && (
                <button
                  type="button"
                  className="jp-OrreryGroups-link jp-OrreryGroups-danger"
                  onClick={() => exec(CommandIDs.removeMember, { groupId, username: m.name })}
                >
                  {trans.__('Remove')}
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
      {detail.subgroups.length > 0 && (
        <>
          <h4 className="jp-OrreryGroups-subTitle">{trans.__('Subgroups')}</h4>
          <ul className="jp-OrreryGroups-members">
            {detail.subgroups.map((s) => (
              <li key={String(s.id)} className="jp-OrreryGroups-member">
                {s.name}
              </li>
            ))}
          </ul>
        </>
      )}
      {model.canManage(detail) && pending.length > 0 && (
        <>
          <h4 className="jp-OrreryGroups-subTitle">{trans.__('Invited')}</h4>
          <ul className="jp-OrreryGroups-members">
            {pending.map((i) => (
              <li key={String(i.id)} className="jp-OrreryGroups-member jp-OrreryGroups-pending">
                <span className="jp-OrreryGroups-name">{i.username}</span>
                <Badge text={i.role} />
                <span className="jp-OrreryGroups-meta">{trans.__('pending')}</span>
              </li>
            ))}
          </ul>
        </>
      )}
      {model.canManage(detail) && <InviteForm {...props} groupId={groupId} />}
      <div className="jp-OrreryGroups-actions">
        {detail.role !== 'MEMBER' && (
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => exec(CommandIDs.editGroup, { groupId })}
          >
            {trans.__('Edit')}
          </button>
        )}
        {model.canLeave(detail) && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-warn"
            onClick={() => exec(CommandIDs.leaveGroup, { groupId })}
          >
            {trans.__('Leave')}
          </button>
        )}
        {detail.role === 'OWNER' && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-warn"
            onClick={() => exec(CommandIDs.deleteGroup, { groupId })}
          >
            {trans.__('Delete')}
          </button>
        )}
      </div>
    </div>
  );
}

function InviteForm(props: ViewProps & { groupId: string; exec: Exec }): React.ReactElement {
  const { model, trans, groupId, exec } = props;
  const [username, setUsername] = React.useState('');
  const [role, setRole] = React.useState<InvitableRole>(props.settings().defaultInviteRole);
  const [options, setOptions] = React.useState<string[]>([]);
  const [hint, setHint] = React.useState('');
  const listId = `jp-OrreryGroups-users-${groupId}`;

  React.useEffect(() => {
    const prefix = username.trim();
    if (!prefix) {
      setOptions([]);
      return;
    }
    let live = true;
    const timer = window.setTimeout(() => {
      model.completeUsernames(prefix, groupId).then(
        (names) => {
          if (live) {
            setOptions(names);
            setHint('');
          }
        },
        (e: Error) => live && setHint(trans.__('User lookup failed: %1', e.message)),
      );
    }, 200);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [username, groupId, model, trans]);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    exec(CommandIDs.inviteMember, { groupId, username: username.trim(), role });
    setUsername('');
  };

  return (
    <form className="jp-OrreryGroups-invite" onSubmit={submit}>
      <input
        className="jp-mod-styled jp-OrreryGroups-inviteUser"
        type="text"
        list={listId}
        placeholder={trans.__('User name')}
        aria-label={trans.__('User name to invite')}
        value={username}
        autoComplete="off"
        onChange={(e) => setUsername(e.target.value)}
      />
      <datalist id={listId}>
        {options.map((n) => (
          <option key={n} value={n} />
        ))}
      </datalist>
      <select
        className="jp-mod-styled jp-OrreryGroups-inviteRole"
        aria-label={trans.__('Role')}
        value={role}
        onChange={(e) => setRole(e.target.value as InvitableRole)}
      >
        <option value="MEMBER">{trans.__('Member')}</option>
        <option value="ADMIN">{trans.__('Admin')}</option>
      </select>
      <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={!username.trim()}>
        {trans.__('Invite')}
      </button>
      {hint && <div className="jp-OrreryGroups-meta">{hint}</div>}
    </form>
  );
}

function DomainRow(props: {
  domain: IDomain;
  exec: Exec;
  trans: TranslationBundle;
}): React.ReactElement {
  const { domain, exec, trans } = props;
  const domainId = String(domain.id);
  return (
    <li
      className="jp-OrreryGroups-item jp-OrreryGroups-domain jp-OrreryGroups-contextTarget"
      data-domain-id={domainId}
      data-joined={String(domain.joined)}
    >
      <div className="jp-OrreryGroups-itemMain">
        <span className="jp-OrreryGroups-name">{domain.name}</span>
        {domain.joined && <Badge text={trans.__('joined')} kind="kind" />}
        <button
          type="button"
          className={`jp-mod-styled ${domain.joined ? 'jp-mod-reject' : 'jp-mod-accept'}`}
          onClick={() =>
            exec(domain.joined ? CommandIDs.leaveDomain : CommandIDs.joinDomain, { domainId })
          }
        >
          {domain.joined ? trans.__('Leave') : trans.__('Join')}
        </button>
      </div>
      {domain.description && <div className="jp-OrreryGroups-meta">{domain.description}</div>}
    </li>
  );
}
